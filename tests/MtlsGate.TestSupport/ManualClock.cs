namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// A clock the test moves by hand. Only "now" is fake: timers (the reloader's polling) stay on the
/// system clock, so a gateway keeps reloading while the test jumps hours ahead for expiry.
/// </summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public static ManualClock StartingNow() => new(DateTimeOffset.UtcNow);

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
