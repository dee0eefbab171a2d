using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Tls;
using Prometheus;
using Yarp.ReverseProxy;

namespace MtlsGate.Management;

/// <summary>
/// The management listener: <c>/healthz</c> (liveness), <c>/readyz</c> (readiness with reasons),
/// <c>/metrics</c> (Prometheus text), and the admin page under <c>/admin</c> (<see cref="AdminEndpoints"/>).
/// Never proxied; plain HTTP on loopback, or TLS with an admin certificate (<see cref="AdminTls"/>).
/// </summary>
public static class ManagementEndpoints
{
    public const string HealthPath = "/healthz";
    public const string ReadyPath = "/readyz";
    public const string MetricsPath = "/metrics";

    private static readonly byte[] Healthy = "Healthy"u8.ToArray();
    private static readonly byte[] NotFound = "Not Found"u8.ToArray();
    private static readonly System.Buffers.SearchValues<char> Digits = System.Buffers.SearchValues.Create("0123456789");

    /// <summary>Expiry monitoring and the metrics (prometheus-net set up once per process).</summary>
    public static IServiceCollection AddMtlsGateManagement(this IServiceCollection services)
    {
        services.AddSingleton<ExpiryMonitor>();
        GatewayMetrics.ConfigurePrometheus();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<AdminCsrf>();
        return services;
    }

    /// <summary>Branches management connections off before routing: the gateway pipeline never sees them.</summary>
    public static IApplicationBuilder UseMtlsGateManagement(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The state-reading instruments exist from the start, not from the first scrape.
        app.ApplicationServices.GetRequiredService<GatewayMetrics>();
        return app.MapWhen(
            context => context.Features.Get<ManagementConnectionFeature>() is not null,
            branch => branch.Run(HandleAsync));
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        var allowedHosts = context.RequestServices.GetRequiredService<GatewayState>().Current.ManagementAllowedHosts;
        if (!IsAllowedHost(context.Request.Host, allowedHosts))
        {
            // 400 as ASP.NET Core's host filtering answers, not 421: 421 tells a client to retry on
            // another connection, and there is no other connection that would be answered.
            // Safe to log as is: Kestrel refuses a Host value with anything but host characters (400
            // before this runs; HttpUtilities.IsHostHeaderValid in Http1Connection.EnsureHostHeaderExists).
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("MtlsGate.Management");
            Log.ManagementHostRefused(logger, context.Request.Host.Value ?? "", StatusCodes.Status400BadRequest);
            await WriteAsync(context, StatusCodes.Status400BadRequest, "", []).ConfigureAwait(false);
            return;
        }

        if (AdminEndpoints.IsAdminPath(context.Request.Path.Value))
        {
            await AdminEndpoints.HandleAsync(context, static c => WriteAsync(c, StatusCodes.Status404NotFound, "text/plain", NotFound)).ConfigureAwait(false);
            return;
        }

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
                var report = Readiness.Evaluate(services.GetRequiredService<GatewayState>(), services.GetRequiredService<TimeProvider>(), services.GetService<IProxyStateLookup>(), services.GetService<Devices.DeviceStoreHealth>());
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

    /// <summary>
    /// The management listener answers only a <c>Host</c> no web page can borrow: <c>localhost</c>, an IP
    /// literal (dotted-quad IPv4 or bracketed IPv6; 127.x included), or a name in
    /// <c>MtlsGate:Management:AllowedHosts</c>, with any port. Anything else is a name that could
    /// resolve to this machine through DNS rebinding; an empty Host is refused too.
    /// </summary>
    public static bool IsAllowedHost(HostString host, IReadOnlySet<string> allowedHosts)
    {
        ArgumentNullException.ThrowIfNull(allowedHosts);
        var name = host.Host;
        if (name.Length > 1 && name[0] == '[')
        {
            return name[^1] == ']' && IPAddress.TryParse(name.AsSpan(1, name.Length - 2), out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        }

        // "localhost." and "127.0.0.1." name the same host as without the dot.
        name = name.EndsWith('.') ? name[..^1] : name;
        return name.Length != 0
            && (name.Equals("localhost", StringComparison.OrdinalIgnoreCase) || IsDottedQuad(name) || allowedHosts.Contains(name));
    }

    /// <summary>Four decimal octets only: IPAddress.TryParse would also take "1" or "0x7f.1", forms not worth reasoning about.</summary>
    private static bool IsDottedQuad(string name)
    {
        var parts = 0;
        foreach (var range in name.AsSpan().Split('.'))
        {
            var part = name.AsSpan(range);
            if (++parts > 4 || part.Length is 0 or > 3 || part.IndexOfAnyExcept(Digits) >= 0 || int.Parse(part, System.Globalization.CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return parts == 4;
    }

    private static Task WriteAsync(HttpContext context, int status, string contentType, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (contentType.Length != 0)
        {
            response.ContentType = contentType;
        }

        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }
}
