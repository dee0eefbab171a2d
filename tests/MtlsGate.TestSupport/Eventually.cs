using System.Diagnostics;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// Waits for a condition instead of sleeping: polls it every <see cref="PollInterval"/> until it holds, and fails
/// the test with <c>because</c> when it still does not hold after the timeout. Use it wherever a test waits for
/// something that happens asynchronously (a log line, a counter, a reload, a process becoming ready).
/// </summary>
public static class Eventually
{
    /// <summary>How often the condition is evaluated.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    /// <inheritdoc cref="TrueAsync(Func{Task{bool}}, TimeSpan, Func{string})"/>
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string because)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return TrueAsync(() => Task.FromResult(condition()), timeout, () => because);
    }

    /// <inheritdoc cref="TrueAsync(Func{Task{bool}}, TimeSpan, Func{string})"/>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string because) =>
        TrueAsync(condition, timeout, () => because);

    /// <summary>
    /// Completes as soon as <paramref name="condition"/> is true (evaluated at once, then every
    /// <see cref="PollInterval"/>); throws an <see cref="Xunit.Sdk.XunitException"/> naming <paramref name="because"/>
    /// (evaluated at the failure, so it can describe the state then) when <paramref name="timeout"/> passes first.
    /// </summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> because)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(because);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed >= timeout)
            {
                throw new Xunit.Sdk.XunitException($"Still false after {timeout.TotalSeconds:0.###} s: {because()}");
            }

            // The poll interval: the one place a test waits on the clock, always under a deadline.
            await Task.Delay(PollInterval);
        }
    }
}
