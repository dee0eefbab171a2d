using System.Text;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Upgrade smuggling: a client asks a public path to upgrade (WebSocket, h2c); the backend does not
/// answer 101. If the gateway opened a raw tunnel anyway, the client's next "request" would reach
/// the backend unjudged. It must instead be judged by the gateway (404 without a certificate) or
/// the connection closed.
/// </summary>
public sealed class UpgradeTunnelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")]
    [InlineData("Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n")]
    public async Task A_refused_upgrade_on_a_public_path_opens_no_tunnel_to_the_backend(string upgrade)
    {
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            config["MtlsGate"]!["Policies"] = new JsonObject { ["Public"] = new JsonObject { ["Require"] = "None" } };
            config["ReverseProxy"]!["Routes"]!["public"] = new JsonObject
            {
                ["ClusterId"] = "app",
                ["Match"] = new JsonObject { ["Path"] = "/status/{**rest}" },
                ["Metadata"] = new JsonObject { ["MtlsGate.Policy"] = "Public" },
            };
        });

        // No client certificate: only the public route is open to us.
        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, null);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"GET /status/200 HTTP/1.1\r\nHost: localhost\r\n{upgrade}\r\n"));
        var first = await ReadSomeAsync(ssl, TimeSpan.FromSeconds(5));
        output.WriteLine("upgrade answer: " + first.Split("\r\n")[0]);

        string second;
        try
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes("GET /private HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
            second = Encoding.ASCII.GetString(await RawTls.ReadToCloseAsync(ssl));
        }
        catch (IOException)
        {
            second = "";
        }

        output.WriteLine("next request: " + second.Split("\r\n")[0]);
        output.WriteLine("backend saw: " + string.Join(", ", gateway.Backend.Requests.Select(r => r.Method + " " + r.Path)));

        Assert.DoesNotContain("101", first.Split("\r\n")[0], StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/private");
        Assert.True(second.Length == 0 || second.StartsWith("HTTP/1.1 404", StringComparison.Ordinal), second);
    }

    private static async Task<string> ReadSomeAsync(Stream stream, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        var buffer = new byte[8192];
        var text = new StringBuilder();
        try
        {
            while (!text.ToString().EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }

        return text.ToString();
    }
}
