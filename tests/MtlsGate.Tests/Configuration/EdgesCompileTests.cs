using System.Text.Json.Nodes;
using MtlsGate.Configuration;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Configuration;

/// <summary><c>MtlsGate:Edges</c> compiled: sources, formats, pins; every refusal names its key.</summary>
public sealed class EdgesCompileTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    private (GatewaySnapshot? Snapshot, IReadOnlyList<string> Errors) Compile(string edges)
    {
        var config = ConfigFiles.Minimal();
        config["MtlsGate"]!["StateDirectory"] = Path.Combine(_files.Folder, "state");
        config["MtlsGate"]!["Edges"] = JsonNode.Parse(edges);
        return _files.Compile(config);
    }

    private static readonly string Pin = TestPki.Fingerprint(TestPki.Instance.Good);

    [Fact]
    public void A_tunnel_a_pinned_edge_and_an_address_edge_compile_with_their_sources_and_formats()
    {
        var pinWithColons = string.Join(":", Enumerable.Range(0, 32).Select(i => Pin.Substring(i * 2, 2).ToUpperInvariant()));
        var (snapshot, errors) = Compile($$"""
            {
              "tunnel": { "Listen": "http://127.0.0.1:8090" },
              "cdn": { "PinnedCertificates": [ "{{pinWithColons}}" ], "Format": "xfcc", "TrustedProxies": [ "10.0.0.0/8" ] },
              "lan": { "TrustedProxies": [ "192.168.1.10" ], "Format": "Cloudflare" }
            }
            """);

        Assert.Empty(errors);
        var edges = snapshot!.Edges;
        Assert.Equal(EdgeFormat.Rfc9440, edges.Named("tunnel")!.Format);
        Assert.Equal(8090, edges.Named("tunnel")!.Listen!.Port);
        Assert.Same(edges.Named("cdn"), edges.ByCertificate(TestPki.Instance.Good));
        Assert.Equal(EdgeFormat.Xfcc, edges.Named("cdn")!.Format);
        Assert.Same(edges.Named("lan"), edges.ByAddress(System.Net.IPAddress.Parse("192.168.1.10")));
        Assert.Null(edges.ByAddress(System.Net.IPAddress.Parse("10.1.2.3")));
    }

    [Theory]
    [InlineData("""{ "x": { "Listen": "http://0.0.0.0:8090" } }""", "MtlsGate:Edges:x:Listen", "not a loopback address")]
    [InlineData("""{ "x": { "Listen": "http://192.168.1.2:8090" } }""", "MtlsGate:Edges:x:Listen", "not a loopback address")]
    [InlineData("""{ "x": { "Listen": "http://example.com:8090" } }""", "MtlsGate:Edges:x:Listen", "not a loopback address")]
    [InlineData("""{ "x": { "Listen": "https://127.0.0.1:8090" } }""", "MtlsGate:Edges:x:Listen", "plain-HTTP")]
    [InlineData("""{ "x": { "Listen": "http://127.0.0.1" } }""", "MtlsGate:Edges:x:Listen", "no port")]
    [InlineData("""{ "x": { "Format": "Rfc9440" } }""", "MtlsGate:Edges:x", "no source")]
    [InlineData("""{ "x": { } }""", "MtlsGate:Edges:x", "no source")]
    [InlineData("""{ "x": { "Listen": "http://127.0.0.1:1", "Format": "1" } }""", "MtlsGate:Edges:x:Format", "names only")]
    [InlineData("""{ "x": { "Listen": "http://127.0.0.1:1", "Format": "Pem" } }""", "MtlsGate:Edges:x:Format", "not one of Rfc9440, Xfcc, Cloudflare")]
    [InlineData("""{ "x": { "PinnedCertificates": [ "abcd" ] } }""", "MtlsGate:Edges:x:PinnedCertificates:0", "64 hex digits")]
    [InlineData("""{ "x": { "PinnedCertificateFiles": [ "missing.pem" ] } }""", "MtlsGate:Edges:x:PinnedCertificateFiles:0", "does not exist")]
    [InlineData("""{ "x": { "TrustedProxies": [ "not-a-network" ] } }""", "MtlsGate:Edges:x:TrustedProxies", "CIDR")]
    [InlineData("""{ "a": { "TrustedProxies": [ "10.0.0.0/8" ] }, "b": { "TrustedProxies": [ "10.1.0.0/16" ] } }""", "MtlsGate:Edges:b:TrustedProxies", "overlaps")]
    [InlineData("""{ "a": { "Listen": "http://127.0.0.1:9000" }, "b": { "Listen": "http://127.0.0.1:9000" } }""", "MtlsGate:Edges:b:Listen", "belongs to one edge")]
    [InlineData("""{ "x": { "Lisen": "http://127.0.0.1:9000" } }""", "MtlsGate:Edges:x:Lisen", "did you mean 'Listen'")]
    public void A_bad_edge_is_refused_naming_its_key(string edges, string key, string message)
    {
        var (snapshot, errors) = Compile(edges);

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.StartsWith(key + ":", StringComparison.Ordinal) && e.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void The_same_pin_on_two_edges_is_refused()
    {
        var (_, errors) = Compile($$"""{ "a": { "PinnedCertificates": [ "{{Pin}}" ] }, "b": { "PinnedCertificates": [ "{{Pin}}" ] } }""");

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Edges:b:PinnedCertificates:", StringComparison.Ordinal) && e.Contains("already pinned by MtlsGate:Edges:a", StringComparison.Ordinal));
    }

    [Fact]
    public void A_pinned_certificate_file_is_pinned_by_its_fingerprint_and_known_for_expiry_warnings()
    {
        File.WriteAllText(Path.Combine(_files.Folder, "edge.pem"), MtlsGate.Tls.Pki.CertificatePem(TestPki.Instance.Good));

        var (snapshot, errors) = Compile("""{ "cdn": { "PinnedCertificateFiles": [ "edge.pem" ] } }""");

        Assert.Empty(errors);
        var edge = snapshot!.Edges.Named("cdn")!;
        Assert.Contains(Pin, (IReadOnlySet<string>)edge.PinnedCertificates);
        Assert.Equal(TestPki.Instance.Good.RawData, Assert.Single(edge.KnownCertificates).RawData);
    }

    [Fact]
    public void Without_edges_the_snapshot_has_none()
    {
        var (snapshot, errors) = _files.Compile(ConfigFiles.Minimal().Also(c => c["MtlsGate"]!["StateDirectory"] = Path.Combine(_files.Folder, "state")));

        Assert.Empty(errors);
        Assert.True(snapshot!.Edges.IsEmpty);
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject json, Action<JsonObject> change)
    {
        change(json);
        return json;
    }
}
