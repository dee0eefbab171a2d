using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MtlsGate.Tests.TestSupport;
using SharedPki = MtlsGate.Tests.TestSupport.TestPki;

namespace MtlsGate.Tests.BlackBox;

/// <summary>
/// No Docker engine runs here, so this runs what the image runs: the output of the Dockerfile's
/// publish command, started with the Dockerfile's ENTRYPOINT, CMD shape and ENV, and probed with its
/// HEALTHCHECK command.
/// </summary>
[Collection(BlackBoxTests.Name)]
public sealed partial class ContainerTests(PublishedGatewayFixture fixture)
{
    [GeneratedRegex(@"^\s*(?:ENV\s+)?(?<key>[A-Za-z_][A-Za-z0-9_]*)=(?<value>\S+?)\s*\\?$")]
    private static partial Regex EnvLine();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The runtime stage's ENV assignments (continuation lines included).</summary>
    private Dictionary<string, string> DockerfileEnvironment()
    {
        var lines = File.ReadAllLines(Path.Combine(fixture.RepositoryRoot, "Dockerfile"));
        var runtime = lines.SkipWhile(l => !l.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet", StringComparison.Ordinal)).ToList();
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var inEnv = false;
        foreach (var line in runtime)
        {
            if (line.StartsWith("ENV ", StringComparison.Ordinal))
            {
                inEnv = true;
            }

            if (inEnv && EnvLine().Match(line) is { Success: true } match)
            {
                environment[match.Groups["key"].Value] = match.Groups["value"].Value;
            }

            inEnv = inEnv && line.TrimEnd().EndsWith('\\');
        }

        return environment;
    }

    [Fact]
    public async Task PublishedOutput_StartedLikeTheImage_ServesAndItsHealthcheckExitsZero_ThenOneWhenStopped()
    {
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(fixture.RepositoryRoot, "Dockerfile"));
        Assert.Contains("ENTRYPOINT [\"/app/mtlsgate\"]", dockerfile, StringComparison.Ordinal);
        Assert.Contains("CMD [\"--config\", \"/config/appsettings.json\"]", dockerfile, StringComparison.Ordinal);
        Assert.Contains("HEALTHCHECK", dockerfile, StringComparison.Ordinal);
        var environment = DockerfileEnvironment();
        Assert.Equal("https://0.0.0.0:8443", environment["MtlsGate__Listen__Gateway"]);
        Assert.Equal("http://127.0.0.1:8081", environment["MtlsGate__Listen__Management"]);

        // The mounted /config volume: an init-style folder with relative paths.
        await using var backend = await Destination.StartAsync();
        var config = Directory.CreateTempSubdirectory("mtlsgate-container-").FullName;
        try
        {
            var pki = SharedPki.Instance;
            await File.WriteAllTextAsync(Path.Combine(config, "ca.pem"), pki.CaBundlePem);
            await File.WriteAllTextAsync(Path.Combine(config, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.ServerLeaf));
            await File.WriteAllTextAsync(Path.Combine(config, "server.key"), MtlsGate.Tls.Pki.KeyPem(pki.ServerLeaf));
            var settings = TestGateway.DefaultConfig(backend.Address);
            ((JsonObject)settings["MtlsGate"]!).Remove("Listen"); // the image's ENV decides the listeners
            await File.WriteAllTextAsync(Path.Combine(config, "appsettings.json"), settings.ToJsonString());

            // Same variables; only the port numbers change so parallel runs do not collide.
            var port = FreePort();
            var management = FreePort();
            environment["MtlsGate__Listen__Gateway"] = environment["MtlsGate__Listen__Gateway"].Replace(":8443", $":{port}", StringComparison.Ordinal);
            environment["MtlsGate__Listen__Management"] = environment["MtlsGate__Listen__Management"].Replace(":8081", $":{management}", StringComparison.Ordinal);
            // The image's state directory (/var/lib/mtlsgate) belongs to the container; on the host, the test's own folder.
            Assert.Equal("/var/lib/mtlsgate", environment["MtlsGate__StateDirectory"]);
            environment["MtlsGate__StateDirectory"] = Path.Combine(config, "state");

            using var gateway = Start(fixture.Executable, ["--config", Path.Combine(config, "appsettings.json")], environment);
            try
            {
                var health = -1;
                await Eventually.TrueAsync(async () => (health = await HealthcheckAsync(environment)) == 0 || gateway.HasExited, TimeSpan.FromSeconds(30), "the healthcheck passes");

                Assert.Equal(0, health);
                using var client = new HttpClient(new SocketsHttpHandler { SslOptions = TestGateway.ClientTls(pki.Good) });
                using var response = await client.GetAsync($"https://localhost:{port}/from-the-image");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            finally
            {
                gateway.Kill(entireProcessTree: true);
                await gateway.WaitForExitAsync();
            }

            Assert.Equal(1, await HealthcheckAsync(environment));
        }
        finally
        {
            Directory.Delete(config, recursive: true);
        }
    }

    private async Task<int> HealthcheckAsync(Dictionary<string, string> environment)
    {
        using var check = Start(fixture.Executable, ["healthcheck"], environment);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await check.WaitForExitAsync(timeout.Token);
        return check.ExitCode;
    }

    private static Process Start(string executable, string[] arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
