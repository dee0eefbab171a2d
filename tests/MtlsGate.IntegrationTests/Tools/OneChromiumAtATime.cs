namespace MtlsGate.Tests.Tools;

/// <summary>
/// Tests that start Debian's Chromium (Tools/ChromiumTests with its machine-wide managed policy, and the
/// admin page's Playwright tests) run one at a time: in a parallel full run on two cores, a headless
/// Chromium started beside another timed out.
/// </summary>
[CollectionDefinition(Name)]
public sealed class OneChromiumAtATime
{
    public const string Name = "Chromium";
}
