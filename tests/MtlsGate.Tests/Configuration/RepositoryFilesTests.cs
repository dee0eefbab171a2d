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
}
