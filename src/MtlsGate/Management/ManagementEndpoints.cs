using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using MtlsGate.Tls;

namespace MtlsGate.Management;

/// <summary>The plain-HTTP management listener: never proxied, no certificate, its own tiny router.</summary>
public static class ManagementEndpoints
{
    public const string HealthPath = "/healthz";

    private static readonly byte[] Healthy = "Healthy"u8.ToArray();
    private static readonly byte[] NotFound = "Not Found"u8.ToArray();

    /// <summary>Branches management connections off before routing: the gateway pipeline never sees them.</summary>
    public static IApplicationBuilder UseMtlsGateManagement(this IApplicationBuilder app) =>
        app.MapWhen(
            context => context.Features.Get<ManagementConnectionFeature>() is not null,
            branch => branch.Run(HandleAsync));

    private static Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/plain";
        response.Headers.CacheControl = "no-store";
        var get = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        var body = get && context.Request.Path == HealthPath ? Healthy : NotFound;
        response.StatusCode = ReferenceEquals(body, Healthy) ? StatusCodes.Status200OK : StatusCodes.Status404NotFound;
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }
}
