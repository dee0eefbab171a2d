using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace MtlsGate.Tests.BlackBox;

/// <summary>The <c>healthcheck</c> and <c>demo</c> verbs of the published binary.</summary>
[Collection(BlackBoxTests.Name)]
public sealed partial class CliVerbTests(PublishedGatewayFixture fixture)
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task Healthcheck_AgainstRunningGateway_Exits0_AndAfterItStops_Exits1()
    {
        var managementPort = FreePort();
        var management = $"http://127.0.0.1:{managementPort.ToString(CultureInfo.InvariantCulture)}";
        var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.Gate()["Listen"]!["Management"] = management);
        var configFile = Path.Combine(env.Sandbox.Directory, "gateway.json");
        try
        {
            Assert.Equal(managementPort, env.Gateway.ManagementPort);

            var healthy = await ProcessRunner.RunAsync(fixture.Executable, ["healthcheck", "--config", configFile], TimeSpan.FromSeconds(30));

            Assert.True(healthy.ExitCode == 0, healthy.ToString());
        }
        finally
        {
            await env.Gateway.DisposeAsync();
        }

        var unhealthy = await ProcessRunner.RunAsync(fixture.Executable, ["healthcheck", "--config", configFile], TimeSpan.FromSeconds(30));
        await env.DisposeAsync();

        Assert.True(unhealthy.ExitCode == 1, unhealthy.ToString());
    }

    [Fact]
    public async Task Healthcheck_WhenNothingListens_Exits1()
    {
        using var sandbox = Sandbox.Create();
        var config = sandbox.WriteConfig(new System.Text.Json.Nodes.JsonObject
        {
            ["MtlsGate"] = new System.Text.Json.Nodes.JsonObject
            {
                ["Listen"] = new System.Text.Json.Nodes.JsonObject { ["Management"] = $"http://127.0.0.1:{FreePort().ToString(CultureInfo.InvariantCulture)}" },
            },
        });

        var result = await ProcessRunner.RunAsync(fixture.Executable, ["healthcheck", "--config", config], TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 1, result.ToString());
    }

    [GeneratedRegex(@"^\s*(curl --cacert \S+ --cert \S+ --key \S+ https://\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex WithCertificateCommand();

    [GeneratedRegex(@"^\s*(curl -i --cacert \S+ https://\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex WithoutCertificateCommand();

    [SkippableFact]
    public async Task Demo_PrintedCurlCommands_Give200WithCertificate_And404Without()
    {
        await using var demo = await DemoProcess.StartAsync(fixture.Executable, TimeSpan.FromSeconds(30));
        var text = demo.Output;
        var with = WithCertificateCommand().Match(text);
        var without = WithoutCertificateCommand().Match(text);
        Assert.True(with.Success && without.Success, text);

        var ok = await RunCurlCommandAsync(with.Groups[1].Value, ["-sS", "-i", "--max-time", "10"]);
        var denied = await RunCurlCommandAsync(without.Groups[1].Value, ["-sS", "--max-time", "10"]);

        Assert.True(ok.Status == 200, ok.ToString());
        Assert.Contains("X-Client-Cert-Verify: SUCCESS", ok.Body, StringComparison.OrdinalIgnoreCase);
        Assert.True(denied.Status == 404, denied.ToString());
        Assert.Equal("Not Found", denied.Body);
    }

    /// <summary>Runs a printed command line (no shell: split on spaces; the demo's paths have none), adding <paramref name="extra"/> options.</summary>
    private static async Task<CurlResult> RunCurlCommandAsync(string commandLine, IEnumerable<string> extra)
    {
        var words = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("curl", words[0]);
        var result = await ProcessRunner.RunAsync("curl", [.. extra, .. words[1..]], TimeSpan.FromSeconds(20));
        return Curl.Parse(result);
    }
}
