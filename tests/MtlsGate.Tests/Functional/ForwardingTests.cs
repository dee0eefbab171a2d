using System.Net;
using System.Net.Http;
using System.Net.WebSockets;
using System.Text;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

public sealed class ForwardingTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly TestPki Pki = TestPki.Instance;

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task SpoofedIdentityAndForwardingHeaders_InAnyCaseAndDuplicated_AreReplacedByTheGatewaysOwn(string version)
    {
        using var client = fixture.Gateway.Client(Pki.Good, Version.Parse(version));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/spoof/{version}");
        request.Headers.TryAddWithoutValidation("X-Client-Cert-Sha256", ["forged", "forged2"]);
        request.Headers.TryAddWithoutValidation("x-client-cert-subject", "CN=admin");
        request.Headers.TryAddWithoutValidation("X-CLIENT-CERT-VERIFY", "SUCCESS");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "6.6.6.6");
        request.Headers.TryAddWithoutValidation("x-forwarded-host", "evil.example");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "http");
        request.Headers.TryAddWithoutValidation("x-real-ip", ["6.6.6.6", "7.7.7.7"]);
        request.Headers.TryAddWithoutValidation("X-SSL-Client-Verify", "SUCCESS");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Client-Cert", "Hash=forged");
        request.Headers.TryAddWithoutValidation("Client-Cert", ":Zm9yZ2Vk:");
        request.Headers.TryAddWithoutValidation("X-ARR-ClientCert", "forged");
        request.Headers.TryAddWithoutValidation("Cf-Client-Cert-Sha256", "forged");
        request.Headers.TryAddWithoutValidation("Forwarded", "for=6.6.6.6");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(fixture.Gateway.Backend.Requests, r => r.Path == $"/spoof/{version}");
        Assert.Equal(Pki.Good.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant(), seen.Header("X-Client-Cert-Sha256"));
        Assert.Equal(1, seen.HeaderCount("X-Client-Cert-Sha256"));
        Assert.Equal("CN=good-device, O=Home", seen.Header("X-Client-Cert-Subject"));
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
        Assert.Equal("127.0.0.1", seen.Header("X-Real-IP"));
        Assert.Equal(1, seen.HeaderCount("X-Real-IP"));
        Assert.Equal("https", seen.Header("X-Forwarded-Proto"));
        Assert.Equal(fixture.Gateway.GatewayUri.Authority, seen.Header("X-Forwarded-Host"));
        Assert.Equal(fixture.Gateway.GatewayUri.Authority, seen.Header("Host"));
        foreach (var gone in new[] { "X-SSL-Client-Verify", "X-Forwarded-Client-Cert", "Client-Cert", "X-ARR-ClientCert", "Cf-Client-Cert-Sha256", "Forwarded" })
        {
            Assert.Null(seen.Header(gone));
        }
    }

    [Fact]
    public async Task TheGateway_StartsNoTraceOfItsOwn_SoTheBackendGetsNoTraceHeaderTheClientDidNotSend()
    {
        // ASP.NET Core would start an Activity per request (and HttpClient inject its traceparent) while
        // its hosting log category is enabled; the gateway turns that category off, for speed.
        using var client = fixture.Gateway.Client(Pki.Good);

        using var response = await client.GetAsync("/no-trace");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(fixture.Gateway.Backend.Requests, r => r.Path == "/no-trace");
        Assert.Null(seen.Header("traceparent"));
        Assert.Null(seen.Header("Request-Id"));
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task SubjectWithCrLfQuotesAndUtf8_CannotSplitOrForgeHeaders(string version)
    {
        using var client = fixture.Gateway.Client(Pki.NastySubject, Version.Parse(version));

        using var response = await client.GetAsync($"/nasty/{version}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(fixture.Gateway.Backend.Requests, r => r.Path == $"/nasty/{version}");
        Assert.Null(seen.Header("X-Injected"));
        var subject = seen.Header("X-Client-Cert-Subject")!;
        Assert.Contains("%0D%0AX-Injected", subject, StringComparison.Ordinal);
        Assert.DoesNotContain(subject, c => c < 0x20 || c >= 0x7F);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task BackendsOwn401And403_PassThroughUnchanged_WithoutTheBackendsServerHeader(int status)
    {
        using var client = fixture.Gateway.Client(Pki.Good);

        using var response = await client.GetAsync($"/status/{status}");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal($"backend says {status}", await response.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("Server"));
    }

    [Fact]
    public async Task UnknownRoute_IsByteIdenticalToTheDefaultDenial()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
            config["ReverseProxy"]!["Routes"]!["app"]!["Match"]!["Path"] = "/app/{**rest}");
        const string Request = "GET {0} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

        var denied = await RawTls.ExchangeAsync(gateway.GatewayUri, null, string.Format(null, Request, "/app/x"));
        var unknownRoute = await RawTls.ExchangeAsync(gateway.GatewayUri, Pki.Good, string.Format(null, Request, "/elsewhere"));
        var unknownRouteNoCert = await RawTls.ExchangeAsync(gateway.GatewayUri, null, string.Format(null, Request, "/elsewhere"));

        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", RawTls.WithoutDate(denied), StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nNot Found", RawTls.WithoutDate(denied), StringComparison.Ordinal);
        Assert.Equal(RawTls.WithoutDate(denied), RawTls.WithoutDate(unknownRoute));
        Assert.Equal(RawTls.WithoutDate(denied), RawTls.WithoutDate(unknownRouteNoCert));
        Assert.Empty(gateway.Backend.Requests);
    }

    [Fact]
    public async Task WebSocket_WithCertificate_RoundTrips_AndWithout_IsRefused()
    {
        var uri = new Uri(fixture.Gateway.GatewayUri.ToString().Replace("https", "wss", StringComparison.Ordinal) + "ws");
        using (var socket = new ClientWebSocket())
        {
            socket.Options.ClientCertificates = [Pki.Good];
            socket.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            await socket.ConnectAsync(uri, CancellationToken.None);
            await socket.SendAsync("ping through the gateway"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[1024];
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal("ping through the gateway", Encoding.UTF8.GetString(buffer, 0, result.Count));
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        using var refused = new ClientWebSocket();
        refused.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        var error = await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(uri, CancellationToken.None));
        Assert.Contains("404", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManagementListener_ServesHealthz_WithoutCertificate_AndProxiesNothing()
    {
        using var client = new HttpClient { BaseAddress = fixture.Gateway.ManagementUri };

        using var health = await client.GetAsync("/healthz");
        using var other = await client.GetAsync("/anything");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.False(health.Headers.Contains("Server"));
        Assert.DoesNotContain(fixture.Gateway.Backend.Requests, r => r.Path == "/anything");
    }

    [Fact]
    public async Task GatewayListener_HealthzPath_IsJustAnotherProxiedPath_UnderThePolicy()
    {
        using var client = fixture.Gateway.Client(null);

        using var response = await client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
