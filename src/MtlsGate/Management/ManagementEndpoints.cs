using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Hosting;
using MtlsGate.Tls;
using Prometheus;
using Yarp.ReverseProxy;

namespace MtlsGate.Management;

/// <summary>
/// The plain-HTTP management listener: <c>/healthz</c> (liveness), <c>/readyz</c> (readiness with
/// reasons), <c>/metrics</c> (Prometheus text). Never proxied, no certificate, its own tiny router.
/// </summary>
public static class ManagementEndpoints
{
    public const string HealthPath = "/healthz";
    public const string ReadyPath = "/readyz";
    public const string MetricsPath = "/metrics";

    private static readonly byte[] Healthy = "Healthy"u8.ToArray();
    private static readonly byte[] NotFound = "Not Found"u8.ToArray();

    /// <summary>Branches management connections off before routing: the gateway pipeline never sees them.</summary>
    public static IApplicationBuilder UseMtlsGateManagement(this IApplicationBuilder app) =>
        app.MapWhen(
            context => context.Features.Get<ManagementConnectionFeature>() is not null,
            branch => branch.Run(HandleAsync));

    private static async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        var method = context.Request.Method;
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
        {
            await WriteAsync(context, StatusCodes.Status404NotFound, "text/plain", NotFound).ConfigureAwait(false);
            return;
        }

        switch (context.Request.Path.Value)
        {
            case HealthPath:
                await WriteAsync(context, StatusCodes.Status200OK, "text/plain", Healthy).ConfigureAwait(false);
                break;
            case ReadyPath:
                var services = context.RequestServices;
                var report = Readiness.Evaluate(services.GetRequiredService<GatewayState>(), services.GetRequiredService<TimeProvider>(), services.GetService<IProxyStateLookup>());
                await WriteAsync(context, report.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, "application/json", report.ToJson()).ConfigureAwait(false);
                break;
            case MetricsPath:
                context.RequestServices.GetRequiredService<GatewayMetrics>();
                using (var buffer = new MemoryStream())
                {
                    await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                    await WriteAsync(context, StatusCodes.Status200OK, "text/plain; version=0.0.4; charset=utf-8", buffer.ToArray()).ConfigureAwait(false);
                }

                break;
            default:
                await WriteAsync(context, StatusCodes.Status404NotFound, "text/plain", NotFound).ConfigureAwait(false);
                break;
        }
    }

    private static Task WriteAsync(HttpContext context, int status, string contentType, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }
}
