using MtlsGate.Configuration;

namespace MtlsGate.Hosting;

/// <summary>Holds the current <see cref="GatewaySnapshot"/>; readers take it once per connection or request, writers swap it whole.</summary>
public sealed class GatewayState(GatewaySnapshot initial)
{
    private GatewaySnapshot _current = initial;

    public GatewaySnapshot Current => Volatile.Read(ref _current);

    /// <summary>Replaces the snapshot atomically (reload).</summary>
    public void Swap(GatewaySnapshot next) => Volatile.Write(ref _current, next ?? throw new ArgumentNullException(nameof(next)));
}
