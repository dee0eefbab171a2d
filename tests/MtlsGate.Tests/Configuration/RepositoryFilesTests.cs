using System.Text.Json;

namespace MtlsGate.Tests.Configuration;

/// <summary>What the repository promises in files: the shipped appsettings.json loads and the Dockerfile keeps its essentials.</summary>
public sealed class RepositoryFilesTests
{
    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MtlsGate.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("MtlsGate.sln not found above the test binaries.");
    }

    [Fact]
    public void AppSettings_IsCopiedBesideTheTestHost_AndIsTheRepositoryRootFile()
    {
        var copied = Path.Combine(AppContext.BaseDirectory, "appsettings.json");

        Assert.True(File.Exists(copied));
        Assert.Equal(File.ReadAllText(Path.Combine(RepositoryRoot(), "appsettings.json")), File.ReadAllText(copied));
        using var json = JsonDocument.Parse(File.ReadAllText(copied));
        // The catch-all means "the default": no policy metadata, so a host's own policy and trust store apply
        // (naming Default would contradict any host with its own trust store, which start-up refuses).
        Assert.False(json.RootElement.GetProperty("ReverseProxy").GetProperty("Routes").GetProperty("app").TryGetProperty("Metadata", out _));
    }

    [Fact]
    public void AppSettings_LoadsThroughTheGatewaysConfiguration_AndFailsClosedOnMissingCertificates()
    {
        var configuration = MtlsGate.Cli.CommandLine.LoadConfiguration([], out var baseDirectory, out var error);
        var (snapshot, errors) = MtlsGate.Configuration.ConfigCompiler.Compile(configuration, baseDirectory);

        Assert.Null(error);
        Assert.Equal("https://0.0.0.0:8443", configuration["MtlsGate:Listen:Gateway"]);
        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:ServerCertificate:Path:", StringComparison.Ordinal) && e.Contains(Path.Combine(AppContext.BaseDirectory, "certs", "server.pem"), StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:TrustStores:Default:CaBundle:", StringComparison.Ordinal));
    }

    [Fact]
    public void Dockerfile_RunsAsNonRoot_HasAHealthcheck_AndBakesNoSecrets()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot(), "Dockerfile"));
        var runtime = lines.SkipWhile(l => !l.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(runtime);
        var user = Assert.Single(runtime, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotContain("root", user, StringComparison.Ordinal);
        Assert.DoesNotContain(" 0", user, StringComparison.Ordinal);
        Assert.Contains(runtime, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal) && l.Contains("healthcheck", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("COPY", StringComparison.Ordinal) && (l.Contains(".pem", StringComparison.Ordinal) || l.Contains(".key", StringComparison.Ordinal) || l.Contains(".pfx", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, l => l.Contains("Password", StringComparison.OrdinalIgnoreCase) && (l.StartsWith("ENV", StringComparison.Ordinal) || l.StartsWith("ARG", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains("dotnet publish src/MtlsGate/MtlsGate.csproj -c Release -o /app", StringComparison.Ordinal));
    }

    /// <summary>
    /// Every key the options classes define (the schema the strict compile accepts) appears in the
    /// README's configuration reference: as a row of its own, or named in the row of a key above it
    /// (e.g. the allow-list fields in the <c>Identities</c> row). Operator-chosen names are written
    /// NAME, CLUSTER or REASON there.
    /// </summary>
    [Fact]
    public void Readme_ConfigurationReference_NamesEveryKeyTheCompileAccepts()
    {
        var rows = new List<(string Key, string Text)>();
        foreach (var line in File.ReadLines(Path.Combine(RepositoryRoot(), "README.md")).Where(l => l.StartsWith("| `MtlsGate:", StringComparison.Ordinal)))
        {
            var cell = line.Split('|')[1];
            var keys = System.Text.RegularExpressions.Regex.Matches(cell, "`([^`]+)`").Select(m => m.Groups[1].Value).ToList();
            var first = Normalise(keys[0]);
            rows.Add((first, line));
            foreach (var alternative in keys.Skip(1))
            {
                rows.Add((first[..(first.LastIndexOf(':') + 1)] + Normalise(alternative), line));
            }
        }

        var missing = Paths(MtlsGate.Configuration.ConfigSchema.Root, "MtlsGate")
            .Where(path => !rows.Any(r => r.Key.Equals(path, StringComparison.OrdinalIgnoreCase) || NamedInRow(path, r.Key, r.Text)))
            .ToList();

        Assert.True(missing.Count == 0, "not in the README's configuration reference: " + string.Join(", ", missing));

        // A key below a row's key counts when that row names the next segment (a map's "*" needs no name).
        static bool NamedInRow(string path, string rowKey, string text)
        {
            if (!path.StartsWith(rowKey + ":", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            var next = path[(rowKey.Length + 1)..].Split(':')[0];
            return next == "*" || text.Contains("`" + next + "`", StringComparison.Ordinal) || text.Contains("\"" + next + "\"", StringComparison.Ordinal);
        }

        static string Normalise(string key) =>
            System.Text.RegularExpressions.Regex.Replace(key, ":(NAME|CLUSTER|REASON)(?=:|$)", ":*");
    }

    /// <summary>The leaf keys of the schema (maps as <c>*</c>, list elements as their fields).</summary>
    private static IEnumerable<string> Paths(MtlsGate.Configuration.ConfigSchema.Node node, string path) => node switch
    {
        MtlsGate.Configuration.ConfigSchema.SectionNode section => section.Properties.SelectMany(p => Paths(p.Value, path + ":" + p.Key)),
        MtlsGate.Configuration.ConfigSchema.MapNode map => Paths(map.Value, path + ":*"),
        MtlsGate.Configuration.ConfigSchema.ListNode { Element: MtlsGate.Configuration.ConfigSchema.SectionNode element } => Paths(element, path),
        _ => [path],
    };
}
