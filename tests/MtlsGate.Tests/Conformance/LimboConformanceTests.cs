using Xunit.Abstractions;

namespace MtlsGate.Tests.Conformance;

/// <summary>
/// Runs every x509-limbo case through the gateway's chain validator and checks that each disagreement is a documented
/// deliberate deviation or a known (documented) validator bug. Set MTLSGATE_WRITE_CONFORMANCE=1 to regenerate
/// docs/conformance.md; normal runs write no file.
/// </summary>
public sealed class LimboConformanceTests(ITestOutputHelper output)
{
    public const string WriteVariable = "MTLSGATE_WRITE_CONFORMANCE";

    private static readonly Lazy<List<LimboResult>> Results = new(RunAll);

    private static List<LimboResult> RunAll()
    {
        var document = LimboData.Load();
        var now = DateTimeOffset.UtcNow;
        return document.Testcases.Select(c => LimboRunner.Run(c, now)).ToList();
    }

    [Fact]
    public void The_vendored_limbo_data_is_found_in_the_repository_and_holds_cases()
    {
        var path = LimboData.DataPath();

        Assert.True(File.Exists(path), $"x509-limbo data missing: expected {path} (<repo>/{LimboData.RelativePath}).");
        Assert.NotEmpty(LimboData.Load().Testcases);
    }

    [Fact]
    public void Every_limbo_case_agrees_or_is_a_documented_deviation_known_failure_or_reasoned_skip()
    {
        var results = Results.Value;
        output.WriteLine(ConformanceReport.Summary(results));
        output.WriteLine("Disagreements:");
        output.WriteLine(ConformanceReport.Disagreements(results));
        output.WriteLine("Skips:");
        output.WriteLine(ConformanceReport.Skips(results));

        if (Environment.GetEnvironmentVariable(WriteVariable) == "1")
        {
            var path = Path.Combine(LimboData.RepositoryRoot(), ConformanceReport.DocPath);
            File.WriteAllText(path, ConformanceDocument.Render(results, DateTimeOffset.UtcNow));
            output.WriteLine($"Wrote {path}.");
        }

        Assert.All(results.Where(r => r.Outcome == Outcome.Skipped), r => Assert.False(string.IsNullOrWhiteSpace(r.Plan.Reason), $"{r.Case.Id}: skip without a reason"));

        var unexpected = results.Where(r => r.Outcome == Outcome.Disagree && !ConformanceReport.IsListed(r.Case.Id))
            .Select(r => $"{r.Case.Id}: limbo {r.Case.ExpectedResult}, expected {r.Plan.Expectation}, gateway {r.Verdict}, platform {r.PlatformStatus}")
            .ToList();
        Assert.True(unexpected.Count == 0, "Unexpected disagreements with x509-limbo (fix the validator, or document a deliberate deviation):\n" + string.Join("\n", unexpected));

        var byId = results.ToDictionary(r => r.Case.Id, StringComparer.Ordinal);
        var stale = LimboDeviations.Deliberate.Keys.Concat(LimboDeviations.KnownFailures.Keys)
            .Where(id => !byId.TryGetValue(id, out var r) || r.Outcome != Outcome.Disagree)
            .Select(id => byId.TryGetValue(id, out var r) ? $"{id}: now {r.Outcome.ToString().ToLowerInvariant()}" : $"{id}: no such case")
            .ToList();
        Assert.True(stale.Count == 0, "Listed deviations or known failures that no longer disagree (remove them from LimboDeviations and docs/conformance.md):\n" + string.Join("\n", stale));
    }

    [Fact]
    public void Every_listed_deviation_known_failure_and_skip_id_names_a_limbo_case()
    {
        var ids = LimboData.Load().Testcases.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var listed = LimboDeviations.Deliberate.Keys
            .Concat(LimboDeviations.KnownFailures.Keys)
            .Concat(LimboMapping.SkippedById.Keys)
            .Concat(LimboMapping.EkuMappedById.Keys);

        Assert.All(listed, id => Assert.True(ids.Contains(id), $"{id} is not a case of limbo.json"));
        Assert.Empty(LimboDeviations.Deliberate.Keys.Intersect(LimboDeviations.KnownFailures.Keys));
    }

    [Fact]
    public void The_conformance_doc_mirrors_every_deliberate_deviation_and_known_failure()
    {
        var path = Path.Combine(LimboData.RepositoryRoot(), ConformanceReport.DocPath);
        Assert.True(File.Exists(path), $"{path} is missing: run the conformance test once with {WriteVariable}=1 and commit it.");
        var doc = File.ReadAllText(path);
        var deliberate = Section(doc, ConformanceDocument.DeliberateHeading);
        var known = Section(doc, ConformanceDocument.KnownFailuresHeading);

        Assert.All(LimboDeviations.Deliberate, e => Assert.Contains($"| `{e.Key}` |", deliberate, StringComparison.Ordinal));
        Assert.All(LimboDeviations.KnownFailures, e => Assert.Contains($"| `{e.Key}` |", known, StringComparison.Ordinal));
        Assert.Equal(LimboDeviations.Deliberate.Count, CountRows(deliberate));
        Assert.Equal(LimboDeviations.KnownFailures.Count, CountRows(known));
    }

    private static string Section(string doc, string heading)
    {
        var start = doc.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/conformance.md has no '{heading}' section.");
        var end = doc.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? doc[start..] : doc[start..end];
    }

    private static int CountRows(string section) =>
        section.Split('\n').Count(line => line.StartsWith("| `", StringComparison.Ordinal));
}
