using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtlsGate.Configuration;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Proxy;

/// <summary>
/// YARP, with routes and clusters from the compiled snapshot and the gateway's transforms on every
/// route, each a class of one job: strip the client's spoofable headers, then set ours.
/// </summary>
public static class ProxySetup
{
    public static IServiceCollection AddMtlsGateProxy(this IServiceCollection services, GatewayState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var preserveHost = state.Current.Forwarding.PreserveHost;
        // Nothing YARP does needs persisted data-protection keys (and the root filesystem may be
        // read-only): registered before AddReverseProxy, so data protection's own is not added. Login's
        // sessions use their own key ring in the state directory (Login/LoginSessions.cs).
        services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
        // Routes and clusters come from the compiled snapshot (never from YARP's own reader of the
        // ReverseProxy section) and change only when a whole configuration is swapped in.
        services.AddSingleton(new SnapshotProxyConfigProvider(state));
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<SnapshotProxyConfigProvider>());
        services.AddSingleton<IConfigChangeListener, ProxyConfigListener>();
        services.AddReverseProxy()
            .AddTransforms(builder =>
            {
                // First of all, before the route's own transforms: nothing set after this is the client's.
                builder.RequestTransforms.Insert(0, SpoofableHeadersTransform.Instance);
                // Vaultwarden needs the original Host; YARP would send the destination's.
                builder.AddOriginalHost(preserveHost);
                // The client's X-Forwarded-* were stripped; these are ours.
                builder.AddXForwarded(ForwardedTransformActions.Set);
                builder.AddResponseHeaderRemove("Server", ResponseCondition.Always);
                builder.RequestTransforms.Add(RealIpTransform.Instance);
                builder.RequestTransforms.Add(IdentityHeadersTransform.Instance);
                builder.RequestTransforms.Add(new DaysLeftTransform(builder.Services.GetRequiredService<TimeProvider>()));
                // Login/: the session cookie stays at the gateway; a session's user for the backend; the Bitwarden bootstrap.
                builder.RequestTransforms.Add(SessionCookieTransform.Instance);
                builder.RequestTransforms.Add(SessionHeadersTransform.Instance);
                builder.RequestTransforms.Add(ConfigBootstrapRequestTransform.Instance);
                builder.ResponseTransforms.Add(ConfigBootstrapResponseTransform.Instance);
                EncodedSlashPathTransform.AddTo(builder);
            });
        // Mutual TLS to backends (MtlsGate:Backends): YARP's client factory, per cluster from the snapshot.
        services.AddSingleton<Yarp.ReverseProxy.Forwarder.IForwarderHttpClientFactory, BackendHttpClientFactory>();
        RemoveDataProtectionKeyRingStartup(services);
        return services;
    }

    /// <summary>
    /// YARP's AddReverseProxy adds ASP.NET Core data protection, whose hosted service creates a key
    /// ring at start-up: it loads the XML stack and writes a key file under ~/.aspnet (about 0.1 s of
    /// start-up, and a write to a filesystem that may be read-only). Nothing reads that key ring: the
    /// gateway's IDataProtectionProvider is ephemeral (registered first, so data protection's own is
    /// not added). Removing the service leaves the key ring unused and never created.
    /// </summary>
    internal static void RemoveDataProtectionKeyRingStartup(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(IHostedService)
                && services[i].ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService")
            {
                services.RemoveAt(i);
            }
        }
    }
}
