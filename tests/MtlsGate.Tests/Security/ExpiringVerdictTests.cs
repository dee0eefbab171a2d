using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Security;

/// <summary>
/// SECURITY.md case 24: the identity is judged at the handshake, but time goes on while a keep-alive
/// (HTTP/1.1) or multiplexed (HTTP/2) connection stays open. A certificate that expires, or a CRL that
/// goes past nextUpdate + grace, must be refused on the next request of that same connection; and a
/// connection older than MaxConnectionLifetime is ended. The clock is injected (a fake one the test moves).
/// </summary>
public sealed class ExpiringVerdictTests
{
    private static TestPki Pki => TestPki.Instance;

    private static X509Certificate2 ShortLived(TimeSpan left) =>
        MtlsGate.Tls.Pki.Issue(Pki.Root, "CN=short-lived", new IssueOptions { NotBefore = DateTimeOffset.UtcNow.AddMinutes(-5), NotAfter = DateTimeOffset.UtcNow + left });

    private static Task<TestGateway> StartAsync(ManualClock clock, Action<JsonObject>? configure = null) =>
        TestGateway.StartAsync(configure, services => services.AddSingleton<TimeProvider>(clock));

    [Fact]
    public async Task A_certificate_that_expires_while_its_HTTP_1_1_keep_alive_connection_stays_open_is_refused_on_its_next_request()
    {
        var clock = ManualClock.StartingNow();
        var leaf = ShortLived(TimeSpan.FromHours(1));
        await using var gateway = await StartAsync(clock);
        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, leaf);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/before"), StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        var after = await Http1.SendAsync(ssl, "/after");

        Assert.StartsWith("HTTP/1.1 404", after, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after");
    }

    [Fact]
    public async Task A_certificate_that_expires_while_its_HTTP_2_connection_stays_open_is_refused_on_its_next_stream()
    {
        var clock = ManualClock.StartingNow();
        var leaf = ShortLived(TimeSpan.FromHours(1));
        await using var gateway = await StartAsync(clock);
        var connections = new StrongBox<int>();
        using var client = CountingHttp2Client(gateway, leaf, connections);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/before")).StatusCode);

        clock.Advance(TimeSpan.FromHours(2));
        using var after = await client.GetAsync("/after");

        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Equal(1, connections.Value);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after");
    }

    [Fact]
    public async Task An_intermediate_that_expires_before_its_leaf_ends_the_verdict_of_an_open_connection()
    {
        var clock = ManualClock.StartingNow();
        var intermediate = MtlsGate.Tls.Pki.Issue(Pki.Root, "CN=Short Intermediate", TestPki.Ca() with { NotAfter = DateTimeOffset.UtcNow.AddHours(1) });
        var leaf = MtlsGate.Tls.Pki.Issue(intermediate, "CN=outlives-its-intermediate", new IssueOptions { NotAfter = DateTimeOffset.UtcNow.AddDays(30) });
        await using var gateway = await StartAsync(clock);
        await using var ssl = await ConnectWithChainAsync(gateway, leaf, intermediate);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/before"), StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));

        Assert.StartsWith("HTTP/1.1 404", await Http1.SendAsync(ssl, "/after"), StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after");
    }

    [Fact]
    public async Task A_CRL_that_goes_past_nextUpdate_plus_grace_while_a_connection_stays_open_fails_closed_on_its_next_request()
    {
        var clock = ManualClock.StartingNow();
        using var files = new SClientFiles();
        var crl = files.Path("root.crl");
        File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [], nextUpdate: DateTimeOffset.UtcNow.AddHours(1), number: 1));
        await using var gateway = await StartAsync(clock, config =>
        {
            config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray(crl);
            config["MtlsGate"]!["TrustStores"]!["Default"]!["StaleCrlGrace"] = "00:30:00";
        });
        await using var h1 = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
        var connections = new StrongBox<int>();
        using var h2 = CountingHttp2Client(gateway, Pki.Good, connections);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(h1, "/fresh"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await h2.GetAsync("/fresh-h2")).StatusCode);

        clock.Advance(TimeSpan.FromMinutes(60 + 29));
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(h1, "/within-grace"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await h2.GetAsync("/within-grace-h2")).StatusCode);

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.StartsWith("HTTP/1.1 404", await Http1.SendAsync(h1, "/stale"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await h2.GetAsync("/stale-h2")).StatusCode);
        Assert.Equal(1, connections.Value);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path.StartsWith("/stale", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_HTTP_1_1_connection_older_than_MaxConnectionLifetime_is_denied_at_its_next_request_and_closed()
    {
        var clock = ManualClock.StartingNow();
        await using var gateway = await StartAsync(clock, config =>
            config["MtlsGate"]!["Limits"] = new JsonObject { ["MaxConnectionLifetime"] = "00:10:00" });
        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/young"), StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromMinutes(10));
        var old = await Http1.SendAsync(ssl, "/old");

        Assert.StartsWith("HTTP/1.1 404", old, StringComparison.Ordinal);
        Assert.True(await Http1.ClosedAsync(ssl), "the connection stayed open after the lifetime denial");
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/old");
        await using var fresh = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(fresh, "/fresh"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_HTTP_2_connection_older_than_MaxConnectionLifetime_is_denied_then_replaced_by_a_new_one()
    {
        var clock = ManualClock.StartingNow();
        await using var gateway = await StartAsync(clock, config =>
            config["MtlsGate"]!["Limits"] = new JsonObject { ["MaxConnectionLifetime"] = "00:10:00" });
        var connections = new StrongBox<int>();
        using var client = CountingHttp2Client(gateway, Pki.Good, connections);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/young")).StatusCode);

        clock.Advance(TimeSpan.FromMinutes(11));
        using var old = await client.GetAsync("/old");
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
        HttpStatusCode next = 0;
        for (var attempt = 0; attempt < 50 && next != HttpStatusCode.OK; attempt++)
        {
            // GOAWAY reaches the client asynchronously; a request racing it may still take the old connection.
            using var response = await client.GetAsync("/next");
            next = response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, next);
        Assert.Equal(2, connections.Value);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/old");
    }

    /// <summary>An HTTP/2-only client that counts the TCP connections it opens.</summary>
    private static HttpClient CountingHttp2Client(TestGateway gateway, X509Certificate2 certificate, StrongBox<int> connections)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = TestGateway.ClientTls(certificate),
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connections.Value);
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = gateway.GatewayUri,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    private static async Task<System.Net.Security.SslStream> ConnectWithChainAsync(TestGateway gateway, X509Certificate2 leaf, X509Certificate2 intermediate)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gateway.GatewayUri.Port);
        var ssl = new System.Net.Security.SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        var options = TestGateway.ClientTls(leaf, [intermediate]);
        options.ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http11];
        await ssl.AuthenticateAsClientAsync(options);
        return ssl;
    }
}
