using System.Diagnostics;

namespace MtlsGate.Tests.TestSupport;

/// <summary>The polling helper that replaces sleeps in the tests (TestSupport/Eventually.cs).</summary>
public sealed class EventuallyTests
{
    [Fact]
    public async Task Eventually_returns_once_the_condition_holds_and_fails_with_the_reason_when_it_never_does()
    {
        var calls = 0;
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => ++calls >= 3, TimeSpan.FromSeconds(10), "the third poll");
        Assert.Equal(3, calls);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"polled every {Eventually.PollInterval.TotalMilliseconds} ms, took {clock.Elapsed}");

        clock.Restart();
        var failure = await Assert.ThrowsAsync<Xunit.Sdk.XunitException>(() => Eventually.TrueAsync(() => false, TimeSpan.FromMilliseconds(200), "the door opens"));
        Assert.Contains("the door opens", failure.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(200), $"gave up after {clock.Elapsed}, before the timeout");
    }
}
