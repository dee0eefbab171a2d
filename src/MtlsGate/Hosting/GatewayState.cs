using MtlsGate.Configuration;

namespace MtlsGate.Hosting;

/// <summary>
/// Holds the current <see cref="GatewaySnapshot"/>: readers take it once per connection or request,
/// the reloader swaps it whole. Also what readiness and metrics say about reloads.
/// </summary>
public sealed class GatewayState(GatewaySnapshot initial)
{
    private GatewaySnapshot _current = initial;
    private long _reloadSuccesses;
    private long _reloadFailures;
    private IReadOnlyList<string> _lastReloadErrors = [];

    public GatewaySnapshot Current => Volatile.Read(ref _current);

    public long ReloadSuccesses => Interlocked.Read(ref _reloadSuccesses);

    public long ReloadFailures => Interlocked.Read(ref _reloadFailures);

    /// <summary>Why the last reload was refused; empty once a reload succeeds again.</summary>
    public IReadOnlyList<string> LastReloadErrors => Volatile.Read(ref _lastReloadErrors);

    /// <summary>Replaces the snapshot atomically (a successful reload).</summary>
    public void Swap(GatewaySnapshot next)
    {
        ArgumentNullException.ThrowIfNull(next);
        Volatile.Write(ref _current, next);
        Volatile.Write(ref _lastReloadErrors, []);
        Interlocked.Increment(ref _reloadSuccesses);
    }

    /// <summary>Records a refused reload: the last good snapshot stays in place.</summary>
    public void RejectReload(IReadOnlyList<string> errors)
    {
        Volatile.Write(ref _lastReloadErrors, errors);
        Interlocked.Increment(ref _reloadFailures);
    }
}
