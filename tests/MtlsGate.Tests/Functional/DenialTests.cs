using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

public sealed class DenialTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    private static Action<JsonObject> DefaultPolicy(JsonObject policy) => config =>
        config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = policy };

    [Fact]
    public async Task CloseAction_Http11_GetsZeroBytes_AndTheBackendNothing()
    {
        await using var gateway = await TestGateway.StartAsync(DefaultPolicy(new JsonObject { ["Deny"] = new JsonObject { ["Action"] = "Close" } }));

        var bytes = await RawTls.ExchangeAsync(gateway.GatewayUri, null, "GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n");

        Assert.Empty(bytes);
        Assert.Empty(gateway.Backend.Requests);
    }

    [Fact]
    public async Task CloseAction_Http2_ClosesTheWholeConnection_NotJustTheStream()
    {
        await using var gateway = await TestGateway.StartAsync(DefaultPolicy(new JsonObject { ["Deny"] = new JsonObject { ["Action"] = "Close" } }));
        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, null, "h2");
        Assert.Equal("h2", ssl.NegotiatedApplicationProtocol.ToString());

        // Client preface, an empty SETTINGS, then HEADERS for GET https://localhost/secret (HPACK, static table only).
        var preface = Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        byte[] settings = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];
        byte[] block = [0x82, 0x87, 0x41, 0x09, .. "localhost"u8, 0x04, 0x07, .. "/secret"u8];
        byte[] headers = [0, 0, (byte)block.Length, 0x1, 0x5, 0, 0, 0, 1, .. block];
        byte[] all = [.. preface, .. settings, .. headers];
        await ssl.WriteAsync(all);
        await ssl.FlushAsync();

        var received = await RawTls.ReadToCloseAsync(ssl);

        // The server's own SETTINGS (and perhaps an ACK) may precede the close; no HEADERS frame (type 1),
        // no GOAWAY/RST_STREAM dance: the connection simply ends.
        Assert.DoesNotContain(Frames(received), f => f.Type is 0x1 or 0x0);
        Assert.Empty(gateway.Backend.Requests);
    }

    [Fact]
    public async Task CustomDeny_StatusBodyContentTypeAndHeaders_AreSentExactly()
    {
        await using var gateway = await TestGateway.StartAsync(DefaultPolicy(new JsonObject
        {
            ["Deny"] = new JsonObject
            {
                ["Status"] = 429,
                ["Body"] = "{\"error\":\"slow down\"}",
                ["ContentType"] = "application/json",
                ["Headers"] = new JsonObject { ["Retry-After"] = "3600" },
            },
        }));
        using var client = gateway.Client(null);

        using var response = await client.GetAsync("/x");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("{\"error\":\"slow down\"}", await response.Content.ReadAsStringAsync());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("3600", response.Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public async Task DenyByReason_OverridesTheResponseForThatReasonOnly()
    {
        await using var gateway = await TestGateway.StartAsync(DefaultPolicy(new JsonObject
        {
            ["DenyByReason"] = new JsonObject { ["Expired"] = new JsonObject { ["Status"] = 503, ["Body"] = "renew me" } },
        }));

        using var expired = gateway.Client(Pki.Expired);
        using var none = gateway.Client(null);
        using var expiredResponse = await expired.GetAsync("/x");
        using var noneResponse = await none.GetAsync("/x");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, expiredResponse.StatusCode);
        Assert.Equal("renew me", await expiredResponse.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, noneResponse.StatusCode);
    }

    [Fact]
    public async Task LogOnlyMode_ForwardsTheRequestThatWouldBeDenied()
    {
        await using var gateway = await TestGateway.StartAsync(DefaultPolicy(new JsonObject { ["Mode"] = "LogOnly" }));
        using var client = gateway.Client(null);

        using var response = await client.GetAsync("/log-only");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(gateway.Backend.Requests);
        Assert.Equal("NONE", seen.Header("X-Client-Cert-Verify"));
        Assert.Null(seen.Header("X-Client-Cert-Sha256"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RejectAtHandshake_RefusesMissingAndInvalidCertificatesWithATlsFailure(bool presentInvalid)
    {
        await using var gateway = await TestGateway.StartAsync(config => config["MtlsGate"]!["Tls"] = new JsonObject { ["RejectAtHandshake"] = true });
        using var good = gateway.Client(Pki.Good);
        using var bad = gateway.Client(presentInvalid ? Pki.OtherRootLeaf : null);

        using var ok = await good.GetAsync("/ok");
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => bad.GetAsync("/refused"));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.True(error.InnerException is AuthenticationException or IOException, error.ToString());
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/refused");
    }

    [Fact]
    public async Task BackendDown_Gives502_WithNoBackendDetails_AndNever401Or403()
    {
        int deadPort;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            deadPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await using var gateway = await TestGateway.StartAsync(config =>
            config["ReverseProxy"]!["Clusters"]!["app"]!["Destinations"]!["d1"]!["Address"] = $"http://127.0.0.1:{deadPort}/");
        using var client = gateway.Client(Pki.Good);

        using var response = await client.GetAsync("/x");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.DoesNotContain(deadPort.ToString(System.Globalization.CultureInfo.InvariantCulture), body, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PublicPolicy_OnARoute_AllowsWithoutCertificate_WhileTheDefaultStillDenies()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            config["MtlsGate"]!["Policies"] = new JsonObject { ["Public"] = new JsonObject { ["Require"] = "None" } };
            var routes = config["ReverseProxy"]!["Routes"]!.AsObject();
            routes["send"] = new JsonObject
            {
                ["ClusterId"] = "app",
                ["Match"] = new JsonObject { ["Path"] = "/send/{**rest}" },
                ["Metadata"] = new JsonObject { ["MtlsGate.Policy"] = "Public" },
            };
            routes["app"]!.AsObject().Remove("Metadata");
        });
        using var client = gateway.Client(null);

        using var open = await client.GetAsync("/send/abc");
        using var closed = await client.GetAsync("/vault");

        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, closed.StatusCode);
    }

    private static List<(int Type, int Length)> Frames(byte[] data)
    {
        var frames = new List<(int, int)>();
        var offset = 0;
        while (offset + 9 <= data.Length)
        {
            var length = (data[offset] << 16) | (data[offset + 1] << 8) | data[offset + 2];
            frames.Add((data[offset + 3], length));
            offset += 9 + length;
        }

        return frames;
    }
}
