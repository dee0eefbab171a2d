using System.Globalization;
using System.Text;

namespace MtlsGate.Tests.Conformance;

/// <summary>Renders docs/conformance.md (regenerated with MTLSGATE_WRITE_CONFORMANCE=1).</summary>
public static class ConformanceDocument
{
    public const string DeliberateHeading = "## Deliberate deviations (allow-list)";

    public const string KnownFailuresHeading = "## Known failures (validator bugs and gaps)";

    public static string Render(IReadOnlyList<LimboResult> results, DateTimeOffset generated)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        text.AppendLine("# x509-limbo conformance");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Generated {generated:yyyy-MM-dd} by `LimboConformanceTests` ({LimboConformanceTests.WriteVariable}=1).");
        text.AppendLine();
        text.AppendLine("## Summary");
        text.AppendLine();
        text.Append(ConformanceReport.Summary(results));
        text.AppendLine();
        text.AppendLine(DeliberateHeading);
        text.AppendLine();
        text.Append(ConformanceReport.ListTable(LimboDeviations.Deliberate));
        text.AppendLine();
        text.AppendLine(KnownFailuresHeading);
        text.AppendLine();
        text.Append(ConformanceReport.ListTable(LimboDeviations.KnownFailures));
        text.AppendLine();
        text.AppendLine("## Disagreements");
        text.AppendLine();
        text.Append(ConformanceReport.Disagreements(results));
        text.AppendLine();
        text.AppendLine("## Skips");
        text.AppendLine();
        text.Append(ConformanceReport.Skips(results));
        text.AppendLine();
        text.AppendLine("## Every case");
        text.AppendLine();
        text.Append(ConformanceReport.AllCases(results));
        return text.ToString();
    }
}
