namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// Finds an outside program on PATH. A missing one makes the test <b>skipped</b>, with the reason and the
/// install command in the <c>dotnet test</c> summary (the test must be <c>[SkippableFact]</c> or
/// <c>[SkippableTheory]</c>, Xunit.SkippableFact; a plain <c>[Fact]</c> reports the same message as a failure).
/// With <c>MTLSGATE_REQUIRE_TOOLS=1</c> (set by <c>.ci/run</c>) a missing tool is a failure, so CI never
/// passes with a tool missing.
/// </summary>
public static class Tool
{
    public const string RequireVariable = "MTLSGATE_REQUIRE_TOOLS";

    /// <summary>How to install each outside program the tests run (Debian/Ubuntu package names; .ci/run installs them all).</summary>
    private static readonly Dictionary<string, string> InstallCommands = new(StringComparer.Ordinal)
    {
        ["openssl"] = "apt-get install openssl",
        ["curl"] = "apt-get install curl",
        ["certutil"] = "apt-get install libnss3-tools",
        ["pk12util"] = "apt-get install libnss3-tools",
        ["nghttp"] = "apt-get install nghttp2-client",
        ["sslscan"] = "apt-get install sslscan",
        ["chromium"] = "apt-get install chromium",
        ["node"] = "apt-get install nodejs",
        ["npm"] = "apt-get install npm",
        ["ab"] = "apt-get install apache2-utils",
        ["kill"] = "apt-get install procps",
        ["nginx"] = "apt-get install nginx",
        ["zbarimg"] = "apt-get install zbar-tools",
        ["initdb"] = PostgresCluster.InstallCommand,
        ["pg_ctl"] = PostgresCluster.InstallCommand,
        ["haproxy"] = "apt-get install haproxy",
        ["python3"] = "apt-get install python3",
    };

    /// <summary>True when <c>MTLSGATE_REQUIRE_TOOLS=1</c>: a missing tool fails instead of skipping.</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>The full path of <paramref name="program"/> on PATH; skips (or fails, see <see cref="Required"/>) when absent.</summary>
    public static string Require(string program, string? installCommand = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Find(program) ?? throw Missing(
            $"'{program}' is not installed",
            installCommand ?? InstallCommandFor(program));
    }

    /// <summary>The command that installs <paramref name="program"/> (what a skip reason shows).</summary>
    public static string InstallCommandFor(string program) =>
        InstallCommands.TryGetValue(program, out var known) ? known : $"install the package that provides '{program}'";

    /// <summary>
    /// For process runners: a bare program name (other than <c>dotnet</c>, which runs the tests) must be on
    /// PATH, else the test is skipped; a path (the published binary) is used as given.
    /// </summary>
    public static string Resolve(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return fileName == "dotnet" || fileName.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) ? fileName : Require(fileName);
    }

    /// <summary>
    /// The exception to throw for a missing prerequisite: <see cref="SkipException"/> (the test shows as skipped
    /// with <paramref name="what"/> and <paramref name="installCommand"/>), or, under <c>MTLSGATE_REQUIRE_TOOLS=1</c>,
    /// a failing assertion with the same text.
    /// </summary>
    public static Exception Missing(string what, string installCommand) => Missing(what, installCommand, Required);

    /// <inheritdoc cref="Missing(string, string)"/>
    public static Exception Missing(string what, string installCommand, bool required)
    {
        var reason = $"{what}: {installCommand}";
        return required
            ? new Xunit.Sdk.XunitException($"{reason} ({RequireVariable}=1: a missing tool is a failure).")
            : new SkipException($"{reason} (skipped; {RequireVariable}=1 makes this a failure).");
    }

    private static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);

    /// <summary>A folder under the test output for artifacts that outlive the test (screenshots).</summary>
    public static string ArtifactFolder(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "TestResults", name);
        Directory.CreateDirectory(folder);
        return folder;
    }
}
