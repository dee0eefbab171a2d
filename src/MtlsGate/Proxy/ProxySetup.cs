using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Configuration;
using MtlsGate.Denials;
using MtlsGate.Policy;
using MtlsGate.Tls;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Proxy;

/// <summary>YARP from the standard <c>ReverseProxy</c> section, with the gateway's header transforms on every route.</summary>
public static class ProxySetup
{
    public const string RealIpHeader = "X-Real-IP";
    public const string DaysLeftHeader = "X-Client-Cert-Days-Left";

    public static IServiceCollection AddMtlsGateProxy(this IServiceCollection services, GatewayState state)
    {
        var preserveHost = state.Current.Forwarding.PreserveHost;
        // Routes and clusters come from the compiled snapshot (never from YARP's own reader of the
        // ReverseProxy section) and change only when a whole configuration is swapped in.
        services.AddSingleton(new SnapshotProxyConfigProvider(state));
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<SnapshotProxyConfigProvider>());
        services.AddSingleton<IConfigChangeListener, ProxyConfigListener>();
        services.AddReverseProxy()
            .AddTransforms(builder =>
            {
                // Vaultwarden needs the original Host; YARP would send the destination's.
                builder.AddOriginalHost(preserveHost);
                // The client's X-Forwarded-* were stripped by the gateway; these are ours.
                builder.AddXForwarded(ForwardedTransformActions.Set);
                builder.AddResponseHeaderRemove("Server", ResponseCondition.Always);
                builder.AddRequestTransform(transform =>
                {
                    var context = transform.HttpContext;
                    var headers = transform.ProxyRequest.Headers;
                    var connection = context.Features.Get<ConnectionIdentityFeature>();
                    if (context.Connection.RemoteIpAddress is { } ip)
                    {
                        // Behind a trusted proxy the address was resolved per request; otherwise it is the connection's, formatted once.
                        headers.TryAddWithoutValidation(RealIpHeader, state.Current.TrustedProxies.Count == 0 ? connection?.RemoteIp ?? ip.ToString() : ip.ToString());
                    }

                    if (connection is not null)
                    {
                        foreach (var header in HeadersFor(context, connection, state))
                        {
                            headers.TryAddWithoutValidation(header.Key, header.Value);
                        }

                        if (state.Current.Expiry.SendDaysLeftHeader && connection.Identity.IsValid)
                        {
                            var days = CertificateExpiry.DaysLeft(connection.Identity.NotAfter, DateTimeOffset.UtcNow);
                            headers.TryAddWithoutValidation(DaysLeftHeader, days.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        }
                    }

                    return ValueTask.CompletedTask;
                });
                EncodedSlashPathTransform.AddTo(builder);
            });
        return services;
    }

    private static KeyValuePair<string, string>[] HeadersFor(HttpContext context, ConnectionIdentityFeature connection, GatewayState state)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>();
        var snapshot = state.SnapshotFor(route?.Config);
        var (_, identity) = GatewayMiddleware.Resolve(context, snapshot, route);
        var format = snapshot.Forwarding.IdentityHeaders;
        if (connection.HeaderCache is HeaderCacheEntry entry && ReferenceEquals(entry.Identity, identity) && entry.Format == format)
        {
            return entry.Headers;
        }

        var headers = IdentityHeaders.For(identity, format, connection.PresentedChain);
        connection.HeaderCache = new HeaderCacheEntry(identity, format, headers);
        return headers;
    }

    private sealed record HeaderCacheEntry(Policy.ClientIdentity Identity, Configuration.IdentityHeaderFormat Format, KeyValuePair<string, string>[] Headers);
}
