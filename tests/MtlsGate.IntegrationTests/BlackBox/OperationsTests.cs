using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;
using SharedPki = MtlsGate.Tests.TestSupport.TestPki;

namespace MtlsGate.Tests.BlackBox;

/// <summary>The published binary as the container runs it: JSON logs, SIGTERM drain, exit codes.</summary>
[Collection(BlackBoxTests.Name)]
public sealed class OperationsTests(PublishedGatewayFixture fixture)
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class RunningGateway(Process process, StringBuilder output, int port, int managementPort, string folder) : IAsyncDisposable
    {
        public Process Process { get; } = process;

        public string Output
        {
            get
            {
                lock (output)
                {
                    return output.ToString();
                }
            }
        }

        public int Port { get; } = port;

        public int ManagementPort { get; } = managementPort;

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync();
            }

            Process.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }

    private async Task<RunningGateway> StartAsync(Uri backend, Action<JsonObject>? configure = null)
    {
        var pki = SharedPki.Instance;
        var folder = Directory.CreateTempSubdirectory("mtlsgate-ops-").FullName;
        File.WriteAllText(Path.Combine(folder, "ca.pem"), pki.CaBundlePem);
        File.WriteAllText(Path.Combine(folder, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.ServerLeaf));
        File.WriteAllText(Path.Combine(folder, "server.key"), MtlsGate.Tls.Pki.KeyPem(pki.ServerLeaf));
        var port = FreePort();
        var managementPort = FreePort();
        var config = TestGateway.DefaultConfig(backend);
        config["MtlsGate"]!["Listen"] = new JsonObject { ["Gateway"] = $"https://127.0.0.1:{port}", ["Management"] = $"http://127.0.0.1:{managementPort}" };
        config.Remove("Serilog");
        configure?.Invoke(config);
        var file = Path.Combine(folder, "gateway.json");
        File.WriteAllText(file, config.ToJsonString());

        var start = ProcessRunner.StartInfo(fixture.Executable, ["--config", file], folder);
        start.RedirectStandardInput = false;
        var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var gateway = new RunningGateway(process, output, port, managementPort, folder);
        using var health = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var healthy = false;
        try
        {
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        using var response = await health.GetAsync($"http://127.0.0.1:{managementPort}/healthz");
                        healthy = response.IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        // not listening yet, or exited: decided below
                    }

                    return healthy || process.HasExited;
                },
                TimeSpan.FromSeconds(30),
                "the gateway answers /healthz");
        }
        catch (Xunit.Sdk.XunitException)
        {
            // timed out: reported below with the gateway's output
        }

        if (!healthy)
        {
            var text = gateway.Output;
            await gateway.DisposeAsync();
            throw new InvalidOperationException("gateway did not start:\n" + text);
        }

        return gateway;
    }

    private static bool CanConnect(int port)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            socket.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static HttpClient Client(int port) => new(new SocketsHttpHandler { SslOptions = TestGateway.ClientTls(SharedPki.Instance.Good) })
    {
        BaseAddress = new Uri($"https://localhost:{port}/"),
        Timeout = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public async Task JsonLogFormat_WritesOneCompactJsonObjectPerLine_WithTheAccessEventsProperties()
    {
        await using var backend = await Destination.StartAsync();
        await using var gateway = await StartAsync(backend.Address, config => config["MtlsGate"]!["Logging"] = new JsonObject { ["Format"] = "Json" });
        using var client = Client(gateway.Port);

        using var response = await client.GetAsync("/json-log?access_token=SECRET");
        await Eventually.TrueAsync(() => gateway.Output.Contains("/json-log", StringComparison.Ordinal), TimeSpan.FromSeconds(5), "the access event of /json-log is written");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = gateway.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        var events = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var access = Assert.Single(events, e => e.TryGetProperty("Path", out var p) && p.GetString() == "/json-log");
        Assert.Equal("app", access.GetProperty("Route").GetString());
        Assert.Equal("Allow", access.GetProperty("Decision").GetString());
        Assert.Equal(200, access.GetProperty("Status").GetInt32());
        Assert.True(access.TryGetProperty("@t", out _));
        Assert.DoesNotContain("SECRET", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_StopsAccepting_LetsTheInFlightRequestFinish_LogsIt_AndExitsZero()
    {
        await using var backend = await Destination.StartAsync();
        await using var gateway = await StartAsync(backend.Address, config => config["MtlsGate"]!["Limits"] = new JsonObject { ["DrainTimeout"] = "00:00:20" });
        using var client = Client(gateway.Port);
        using (var warm = await client.GetAsync("/warm"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        var inFlight = client.GetAsync("/slow/3000");
        await Eventually.TrueAsync(() => backend.Requests.Any(r => r.Path == "/slow/3000"), TimeSpan.FromSeconds(10), "the slow request reaches the backend before SIGTERM");
        using (var kill = Process.Start("kill", ["-TERM", gateway.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await Eventually.TrueAsync(() => !CanConnect(gateway.Port), TimeSpan.FromSeconds(10), "the gateway stops accepting connections after SIGTERM");
        using var fresh = Client(gateway.Port);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => fresh.GetAsync("/after-sigterm"));
        using var response = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("slow 3000", await response.Content.ReadAsStringAsync());
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await gateway.Process.WaitForExitAsync(exit.Token);
        Assert.Equal(0, gateway.Process.ExitCode);
        // The log queue is written out before exit: the drained request's access line is not lost.
        Assert.Contains("GET /slow/3000 route=app decision=Allow", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManagementOnANonLoopbackAddress_IsRefusedUnlessExplicitlyAllowed()
    {
        await using var backend = await Destination.StartAsync();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(backend.Address, config =>
            config["MtlsGate"]!["Listen"]!["Management"] = $"http://0.0.0.0:{FreePort()}"));

        Assert.Contains("MtlsGate:Listen:AllowRemoteManagement", error.Message, StringComparison.Ordinal);
    }
}
