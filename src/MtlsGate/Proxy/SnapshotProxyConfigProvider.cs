using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using Yarp.ReverseProxy.Configuration;

namespace MtlsGate.Proxy;

/// <summary>
/// YARP's routes and clusters, taken from the gateway's current snapshot and changed only inside
/// <see cref="GatewayState.Swap"/>: a configuration reaches YARP whole, after it compiled and passed
/// YARP's own validation, or not at all. (YARP's LoadFromConfig reader applied the section on its
/// own as soon as the file changed, also when the gateway refused the rest of it.)
/// The change is signalled as YARP's in-memory provider does, with a <see cref="CancellationChangeToken"/>
/// (microsoft/reverse-proxy src/ReverseProxy/Configuration/InMemoryConfigProvider.cs).
/// </summary>
public sealed class SnapshotProxyConfigProvider : IProxyConfigProvider, IDisposable
{
    private readonly GatewayState _state;
    private readonly Lock _lock = new();
    private SnapshotProxyConfig _config;

    public SnapshotProxyConfigProvider(GatewayState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _state = state;
        lock (_lock)
        {
            state.Swapped += Publish;
            _config = new SnapshotProxyConfig(state.Current.Proxy);
        }
    }

    public IProxyConfig GetConfig() => Volatile.Read(ref _config);

    public void Dispose()
    {
        _state.Swapped -= Publish;
        Volatile.Read(ref _config).Dispose();
    }

    private void Publish(GatewaySnapshot snapshot)
    {
        SnapshotProxyConfig previous;
        lock (_lock)
        {
            previous = _config;
            Volatile.Write(ref _config, new SnapshotProxyConfig(snapshot.Proxy));
        }

        // YARP reloads from this callback (synchronously as far as its validators are synchronous).
        // Not disposed: YARP may still read the old token's HasChanged after the signal (a CTS
        // without a timer holds nothing that needs disposing).
        previous.SignalChange();
    }

    private sealed class SnapshotProxyConfig : IProxyConfig, IDisposable
    {
        private readonly CancellationTokenSource _changed = new();

        public SnapshotProxyConfig(ProxySnapshot proxy)
        {
            Routes = proxy.Routes;
            Clusters = proxy.Clusters;
            ChangeToken = new CancellationChangeToken(_changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public void SignalChange() => _changed.Cancel();

        public void Dispose() => _changed.Dispose();
    }
}

/// <summary>
/// Logs when YARP itself refuses a configuration the gateway has already swapped in (its checks run
/// before the swap, so this means a check the candidate did not go through). Requests stay
/// consistent even then: YARP keeps its previous routes, and those are judged with the snapshot that
/// built them (<see cref="GatewayState.SnapshotFor"/>).
/// </summary>
public sealed class ProxyConfigListener(ILogger<ProxyConfigListener> logger) : IConfigChangeListener
{
    public void ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception) =>
        Log.ProxyConfigNotApplied(logger, exception?.Message ?? "");

    public void ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    public void ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception) =>
        Log.ProxyConfigNotApplied(logger, exception?.Message ?? "");

    public void ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }
}
