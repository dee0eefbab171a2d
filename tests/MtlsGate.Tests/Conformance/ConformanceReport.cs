using System.Globalization;
using System.Text;

namespace MtlsGate.Tests.Conformance;

/// <summary>Builds the agreement table (test output and docs/conformance.md) from the results.</summary>
public static class ConformanceReport
{
    public const string DocPath = "docs/conformance.md";

    public static string Summary(IReadOnlyList<LimboResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var run = results.Where(r => r.Outcome != Outcome.Skipped).ToList();
        var disagree = run.Where(r => r.Outcome == Outcome.Disagree).ToList();
        var skipped = results.Where(r => r.Outcome == Outcome.Skipped).ToList();
        var crl = run.Where(r => LimboMapping.IsCrlCase(r.Case)).ToList();
        var text = new StringBuilder();
        text.AppendLine("| | cases |");
        text.AppendLine("|---|---:|");
        Row(text, "total in limbo.json", results.Count);
        Row(text, "run", run.Count);
        Row(text, "&nbsp;&nbsp;agree", run.Count - disagree.Count);
        Row(text, "&nbsp;&nbsp;disagree", disagree.Count);
        Row(text, "&nbsp;&nbsp;&nbsp;&nbsp;deliberate deviations (allow-list)", disagree.Count(r => LimboDeviations.Deliberate.ContainsKey(r.Case.Id)));
        Row(text, "&nbsp;&nbsp;&nbsp;&nbsp;known failures: validator bugs (BUG)", disagree.Count(r => KnownKind(r.Case.Id, "BUG")));
        Row(text, "&nbsp;&nbsp;&nbsp;&nbsp;known failures: profile gaps (GAP)", disagree.Count(r => KnownKind(r.Case.Id, "GAP")));
        Row(text, "&nbsp;&nbsp;&nbsp;&nbsp;unexpected (test fails)", disagree.Count(r => !IsListed(r.Case.Id)));
        Row(text, "skipped with a reason", skipped.Count);
        foreach (var group in skipped.GroupBy(r => r.Plan.Skip).OrderBy(g => g.Key))
        {
            Row(text, $"&nbsp;&nbsp;{group.Key}", group.Count());
        }

        Row(text, "CRL cases (revocation), all run", crl.Count);
        Row(text, "&nbsp;&nbsp;agree", crl.Count(r => r.Outcome == Outcome.Agree));
        Row(text, "&nbsp;&nbsp;disagree", crl.Count(r => r.Outcome == Outcome.Disagree));
        text.AppendLine();
        text.AppendLine("Run cases by kind and mapped expectation:");
        text.AppendLine();
        text.AppendLine("| kind | expectation | run | agree | disagree |");
        text.AppendLine("|---|---|---:|---:|---:|");
        foreach (var group in run.GroupBy(r => (r.Case.ValidationKind, r.Plan.Expectation)).OrderBy(g => g.Key.ValidationKind, StringComparer.Ordinal).ThenBy(g => g.Key.Expectation))
        {
            var agree = group.Count(r => r.Outcome == Outcome.Agree);
            text.AppendLine(CultureInfo.InvariantCulture, $"| {group.Key.ValidationKind} | {group.Key.Expectation} | {group.Count()} | {agree} | {group.Count() - agree} |");
        }

        return text.ToString();
    }

    public static string Disagreements(IReadOnlyList<LimboResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        text.AppendLine("| case | limbo | expectation | gateway verdict | platform chain status | listed as |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in results.Where(r => r.Outcome == Outcome.Disagree).OrderBy(r => r.Case.Id, StringComparer.Ordinal))
        {
            var listed = LimboDeviations.Deliberate.ContainsKey(r.Case.Id) ? "deliberate deviation"
                : LimboDeviations.KnownFailures.ContainsKey(r.Case.Id) ? "**known failure (bug)**"
                : "**UNEXPECTED**";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| `{r.Case.Id}` | {r.Case.ValidationKind} {r.Case.ExpectedResult} | {r.Plan.Expectation} | {Cell(r.Verdict)} | {Cell(r.PlatformStatus)} | {listed} |");
        }

        return text.ToString();
    }

    /// <summary>Every CRL case with its verdict (the revocation part of the run).</summary>
    public static string CrlCases(IReadOnlyList<LimboResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        text.AppendLine("| case | limbo | expectation | gateway verdict | outcome |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var r in results.Where(r => LimboMapping.IsCrlCase(r.Case)).OrderBy(r => r.Case.Id, StringComparer.Ordinal))
        {
            var outcome = r.Outcome switch
            {
                Outcome.Skipped => $"skipped ({r.Plan.Skip})",
                Outcome.Agree => "agree",
                _ => LimboDeviations.Deliberate.ContainsKey(r.Case.Id) ? "disagree: deliberate deviation"
                    : LimboDeviations.KnownFailures.TryGetValue(r.Case.Id, out var reason) ? $"disagree: known failure ({reason.Split(' ')[0].TrimEnd(':')})"
                    : "**disagree: UNEXPECTED**",
            };
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| `{r.Case.Id}` | {r.Case.ValidationKind} {r.Case.ExpectedResult} | {(r.Outcome == Outcome.Skipped ? "" : r.Plan.Expectation.ToString())} | {Cell(r.Verdict)} | {outcome} |");
        }

        return text.ToString();
    }

    public static string Skips(IReadOnlyList<LimboResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        foreach (var group in results.Where(r => r.Outcome == Outcome.Skipped).GroupBy(r => (r.Plan.Skip, r.Plan.Reason)).OrderBy(g => g.Key.Skip).ThenBy(g => g.Key.Reason, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- **{group.Key.Skip}** ({group.Count()}): {group.Key.Reason}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  - {string.Join(", ", group.Select(r => $"`{r.Case.Id}`").Order(StringComparer.Ordinal))}");
        }

        return text.ToString();
    }

    public static string AllCases(IReadOnlyList<LimboResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        text.AppendLine("| case | kind | limbo | outcome | expectation | gateway verdict |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var outcome = r.Outcome == Outcome.Skipped ? $"skipped ({r.Plan.Skip})" : r.Outcome.ToString().ToLowerInvariant();
            var expectation = r.Outcome == Outcome.Skipped ? "" : r.Plan.Expectation.ToString();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| `{r.Case.Id}` | {r.Case.ValidationKind} | {r.Case.ExpectedResult} | {outcome} | {expectation} | {Cell(r.Verdict)} |");
        }

        return text.ToString();
    }

    public static string ListTable(IReadOnlyDictionary<string, string> list)
    {
        ArgumentNullException.ThrowIfNull(list);
        if (list.Count == 0)
        {
            return "(none)\n";
        }

        var text = new StringBuilder();
        text.AppendLine("| case | reason |");
        text.AppendLine("|---|---|");
        foreach (var (id, reason) in list.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| `{id}` | {Cell(reason)} |");
        }

        return text.ToString();
    }

    public static bool IsListed(string id) => LimboDeviations.Deliberate.ContainsKey(id) || LimboDeviations.KnownFailures.ContainsKey(id);

    private static bool KnownKind(string id, string kind) =>
        LimboDeviations.KnownFailures.TryGetValue(id, out var reason) && reason.StartsWith(kind, StringComparison.Ordinal);

    private static void Row(StringBuilder text, string label, int count) =>
        text.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {count} |");

    private static string Cell(string value) => value.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
