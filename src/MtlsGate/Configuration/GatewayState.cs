using System.Runtime.CompilerServices;
using Yarp.ReverseProxy.Configuration;

namespace MtlsGate.Configuration;

/// <summary>
/// Holds the current <see cref="GatewaySnapshot"/>: readers take it once per connection or request,
/// the reloader swaps it whole. Also what readiness and metrics say about reloads.
/// </summary>
/// <remarks>
/// No mixed state during a reload: YARP takes a new snapshot's routes a moment after the swap (and
/// requests already routed keep their route), so "the current snapshot" and "the routes YARP
/// matched" can belong to different configurations. Every route object a snapshot hands to YARP is
/// therefore mapped back to that snapshot (<see cref="SnapshotFor"/>), and a routed request is judged
/// with the policies of the configuration that built its route: old routes with old policies, new
/// routes with new ones, never a mix. Each compile stamps its routes with a generation
/// (<see cref="ProxyConfigCompiler.GenerationMetadataKey"/>) so YARP never keeps an old route object
/// for an unchanged route, which would keep judging it with the old policies.
/// </remarks>
public sealed class GatewayState
{
    private readonly ConditionalWeakTable<RouteConfig, GatewaySnapshot> _routeOwners = new();
    private readonly Lock _swapLock = new();
    private GatewaySnapshot _current;
    private long _reloadSuccesses;
    private long _reloadFailures;
    private IReadOnlyList<string> _lastReloadErrors = [];

    public GatewayState(GatewaySnapshot initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        Register(initial);
        _current = initial;
    }

    /// <summary>
    /// Raised inside <see cref="Swap"/>, after <see cref="Current"/> is replaced and before the success
    /// is counted: the proxy configuration provider hands the new routes and clusters to YARP here.
    /// </summary>
    public event Action<GatewaySnapshot>? Swapped;

    public GatewaySnapshot Current => Volatile.Read(ref _current);

    public long ReloadSuccesses => Interlocked.Read(ref _reloadSuccesses);

    public long ReloadFailures => Interlocked.Read(ref _reloadFailures);

    /// <summary>Why the last reload was refused; empty once a reload succeeds again.</summary>
    public IReadOnlyList<string> LastReloadErrors => Volatile.Read(ref _lastReloadErrors);

    /// <summary>
    /// The snapshot whose configuration built <paramref name="route"/> (what a routed request is
    /// judged with); the current snapshot for a request no route matched.
    /// </summary>
    public GatewaySnapshot SnapshotFor(RouteConfig? route) =>
        route is not null && _routeOwners.TryGetValue(route, out var owner) ? owner : Current;

    /// <summary>Replaces the snapshot atomically (a successful reload) and hands its routes and clusters to YARP.</summary>
    public void Swap(GatewaySnapshot next)
    {
        ArgumentNullException.ThrowIfNull(next);
        lock (_swapLock)
        {
            // Mapped before YARP can see the routes, so no request ever matches an unmapped route.
            Register(next);
            Volatile.Write(ref _current, next);
            Swapped?.Invoke(next);
            Volatile.Write(ref _lastReloadErrors, []);
            Interlocked.Increment(ref _reloadSuccesses);
        }
    }

    /// <summary>Records a refused reload: the last good snapshot stays in place, routes and clusters included.</summary>
    public void RejectReload(IReadOnlyList<string> errors)
    {
        Volatile.Write(ref _lastReloadErrors, errors);
        Interlocked.Increment(ref _reloadFailures);
    }

    private void Register(GatewaySnapshot snapshot)
    {
        foreach (var route in snapshot.Proxy.Routes)
        {
            _routeOwners.AddOrUpdate(route, snapshot);
        }
    }
}
