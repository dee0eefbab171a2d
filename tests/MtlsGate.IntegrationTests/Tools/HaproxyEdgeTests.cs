using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Tools;

/// <summary>
/// A real TLS-terminating edge: Debian's HAProxy accepts the phones' TLS (any certificate, as a CDN
/// does), forwards the certificate as RFC 9440 <c>Client-Cert</c>, and connects to the gateway's TLS
/// listener presenting its own edge certificate from another CA, pinned in <c>MtlsGate:Edges:cdn</c>.
/// The gateway judges the forwarded certificate against the operator's CA: the edge only vouches for
/// the connection, never for the client.
/// </summary>
public sealed class HaproxyEdgeTests : IAsyncLifetime, IDisposable
{
    private static readonly TestPki Pki = TestPki.Instance;
    private readonly X509Certificate2 _edgeCa = MtlsGate.Tls.Pki.CreateRoot("CN=Edge CA, O=Some CDN");
    private readonly X509Certificate2 _edgeCertificate;
    private readonly X509Certificate2 _unpinnedEdgeCertificate;
    private TestGateway _gateway = null!;

    public HaproxyEdgeTests()
    {
        _edgeCertificate = MtlsGate.Tls.Pki.Issue(_edgeCa, "CN=origin-pull.example");
        _unpinnedEdgeCertificate = MtlsGate.Tls.Pki.Issue(_edgeCa, "CN=another-zone.example");
    }

    public async Task InitializeAsync()
    {
        Tool.Require("haproxy");
        _gateway = await TestGateway.StartAsync(config => config["MtlsGate"]!["Edges"] = new JsonObject
        {
            ["cdn"] = new JsonObject { ["PinnedCertificates"] = new JsonArray(TestPki.Fingerprint(_edgeCertificate)), ["Format"] = "Rfc9440" },
        });
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _edgeCertificate.Dispose();
        _unpinnedEdgeCertificate.Dispose();
        _edgeCa.Dispose();
    }

    private static HttpClient Through(EdgeProcess haproxy, X509Certificate2? phone) =>
        new(new SocketsHttpHandler { SslOptions = TestGateway.ClientTls(phone), PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            BaseAddress = new Uri($"https://localhost:{haproxy.Port}/"),
            Timeout = TimeSpan.FromSeconds(30),
        };

    [SkippableFact]
    public async Task A_phone_certificate_from_the_operators_CA_gets_200_through_the_edge_and_the_backend_sees_it_forwarded_by_cdn()
    {
        await using var haproxy = await EdgeProcess.HaproxyAsync(_gateway.GatewayUri.Port, _edgeCertificate);
        using var phone = Through(haproxy, Pki.Good);

        using var response = await phone.GetAsync("/edge/good");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(_gateway.Backend.Requests, r => r.Path == "/edge/good");
        Assert.Equal(TestPki.Fingerprint(Pki.Good), seen.One("X-Client-Cert-Sha256"));
        Assert.Equal("cdn", seen.One("X-Client-Cert-Source"));
        Assert.Null(seen.Header("Client-Cert"));
    }

    [SkippableTheory]
    [InlineData("other-ca")]
    [InlineData("expired")]
    [InlineData("none")]
    public async Task Another_CAs_an_expired_or_no_certificate_through_the_edge_gets_404_and_the_backend_never_sees_it(string which)
    {
        var phoneCertificate = which switch { "other-ca" => Pki.OtherRootLeaf, "expired" => Pki.Expired, _ => null };
        await using var haproxy = await EdgeProcess.HaproxyAsync(_gateway.GatewayUri.Port, _edgeCertificate);
        using var phone = Through(haproxy, phoneCertificate);

        using var response = await phone.GetAsync($"/edge/{which}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(_gateway.Backend.Requests, r => r.Path == $"/edge/{which}");
    }

    [SkippableFact]
    public async Task Phones_with_good_and_bad_certificates_on_the_edges_reused_connection_each_get_their_own_verdict()
    {
        await using var haproxy = await EdgeProcess.HaproxyAsync(_gateway.GatewayUri.Port, _edgeCertificate);
        using var good = Through(haproxy, Pki.Good);
        using var other = Through(haproxy, Pki.OtherRootLeaf);

        for (var i = 0; i < 3; i++)
        {
            using var allowed = await good.GetAsync($"/mixed/good{i}");
            using var denied = await other.GetAsync($"/mixed/other{i}");
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, denied.StatusCode);
        }

        Assert.DoesNotContain(_gateway.Backend.Requests, r => r.Path.StartsWith("/mixed/other", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task An_edge_presenting_a_certificate_that_is_not_pinned_is_no_edge_and_its_phones_get_404()
    {
        await using var haproxy = await EdgeProcess.HaproxyAsync(_gateway.GatewayUri.Port, _unpinnedEdgeCertificate);
        using var phone = Through(haproxy, Pki.Good);

        using var response = await phone.GetAsync("/edge/unpinned");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(_gateway.Backend.Requests, r => r.Path == "/edge/unpinned");
    }

    [SkippableFact]
    public async Task The_same_request_sent_straight_to_the_gateway_without_the_edge_certificate_is_refused()
    {
        var forged = ":" + Convert.ToBase64String(Pki.Good.RawData) + ":";
        using var noCertificate = _gateway.Client(null);
        using var otherEdge = _gateway.Client(_unpinnedEdgeCertificate);
        using var first = new HttpRequestMessage(HttpMethod.Get, "/straight/none");
        first.Headers.TryAddWithoutValidation("Client-Cert", forged);
        using var second = new HttpRequestMessage(HttpMethod.Get, "/straight/other-edge");
        second.Headers.TryAddWithoutValidation("Client-Cert", forged);

        using var a = await noCertificate.SendAsync(first);
        using var b = await otherEdge.SendAsync(second);

        Assert.Equal(HttpStatusCode.NotFound, a.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, b.StatusCode);
        Assert.DoesNotContain(_gateway.Backend.Requests, r => r.Path.StartsWith("/straight/", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task A_tunnel_connector_on_loopback_forwarding_plain_HTTP_to_the_edge_listener_gets_the_same_judgement()
    {
        await using var gateway = await TestGateway.StartAsync(config => config["MtlsGate"]!["Edges"] = new JsonObject
        {
            ["tunnel"] = new JsonObject { ["Listen"] = "http://127.0.0.1:0" },
        });
        await using var forwarder = await EdgeProcess.PythonForwarderAsync(gateway.EdgeUris.Single());
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{forwarder.Port}/"), Timeout = TimeSpan.FromSeconds(30) };

        async Task<HttpStatusCode> Send(string path, X509Certificate2? certificate)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (certificate is not null)
            {
                request.Headers.TryAddWithoutValidation("Client-Cert", ":" + Convert.ToBase64String(certificate.RawData) + ":");
            }

            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Send("/tunnel/good", Pki.Good));
        Assert.Equal(HttpStatusCode.NotFound, await Send("/tunnel/other", Pki.OtherRootLeaf));
        Assert.Equal(HttpStatusCode.NotFound, await Send("/tunnel/expired", Pki.Expired));
        Assert.Equal(HttpStatusCode.NotFound, await Send("/tunnel/none", null));
        var seen = Assert.Single(gateway.Backend.Requests, r => r.Path.StartsWith("/tunnel/", StringComparison.Ordinal));
        Assert.Equal("/tunnel/good", seen.Path);
        Assert.Equal("tunnel", seen.One("X-Client-Cert-Source"));
    }
}
