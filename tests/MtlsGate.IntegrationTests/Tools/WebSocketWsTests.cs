using System.Text.Json;
using MtlsGate.Tests.BlackBox;
using TestPki = MtlsGate.Tests.TestSupport.TestPki;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Tools;

/// <summary>A real Node WebSocket client (npm <c>ws</c>) through the gateway to the destination's echo at <c>/ws</c>.</summary>
public sealed class WebSocketWsTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-ws-").FullName;

    [SkippableFact]
    public async Task A_ws_client_presenting_the_client_certificate_gets_its_message_echoed_through_the_gateway()
    {
        var (node, module) = await PrepareAsync();
        await using var gateway = await TestGateway.StartAsync();
        var cert = Write("client.pem", MtlsGate.Tls.Pki.CertificatePem(TestPki.Instance.Good));
        var key = Write("client.key", MtlsGate.Tls.Pki.KeyPem(TestPki.Instance.Good));

        var result = await RunAsync(node, module, gateway, "hello through the gateway", cert, key);

        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        using var line = JsonDocument.Parse(result.StandardOutput.Trim());
        Assert.Equal("hello through the gateway", line.RootElement.GetProperty("echo").GetString());
        var upgrade = Assert.Single(gateway.Backend.Requests, r => r.Path == "/ws");
        Assert.Equal("websocket", upgrade.Header("Upgrade"), ignoreCase: true);
    }

    [SkippableFact]
    public async Task A_ws_client_without_a_certificate_gets_an_unexpected_404_response_and_never_reaches_the_backend()
    {
        var (node, module) = await PrepareAsync();
        await using var gateway = await TestGateway.StartAsync();

        var result = await RunAsync(node, module, gateway, "should not arrive", null, null);

        Assert.False(result.TimedOut);
        Assert.Equal(2, result.ExitCode);
        using var line = JsonDocument.Parse(result.StandardOutput.Trim());
        Assert.Equal(404, line.RootElement.GetProperty("unexpectedResponse").GetInt32());
        Assert.Contains("Not Found", line.RootElement.GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.Empty(gateway.Backend.Requests);
    }

    private static async Task<(string Node, string Module)> PrepareAsync()
    {
        var node = Tool.Require("node");
        var npm = Tool.Require("npm");
        return (node, await NodeWs.RequireModuleAsync(node, npm));
    }

    private async Task<ProcessResult> RunAsync(string node, string module, TestGateway gateway, string message, string? cert, string? key)
    {
        var script = Write("client.mjs", NodeWs.Script);
        var ca = Write("ca.pem", MtlsGate.Tls.Pki.CertificatePem(TestPki.Instance.Root));
        var url = $"wss://localhost:{gateway.GatewayUri.Port}/ws";
        var psi = ProcessRunner.StartInfo(node, [script, module, url, message, .. cert is null ? Array.Empty<string>() : [cert, key!]], _folder);
        psi.Environment["CA_FILE"] = ca;
        var result = await ProcessRunner.RunAsync(psi, TimeSpan.FromSeconds(30));
        output.WriteLine(result.ToString());
        return result;
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
