using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>Policies per host and route through the real gateway: SNI/Host binding, allow-lists, networks, trusted proxies, header formats.</summary>
public sealed class PolicyTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    private static void WritePem(string folder, string name, X509Certificate2 certificate) => TwoHosts.WritePem(folder, name, certificate);

    private static Task<TestGateway> StartTwoHostsAsync() => TwoHosts.StartAsync(Directory.CreateTempSubdirectory("mtlsgate-hosts-").FullName);

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task EachHost_UsesItsOwnServerCertificateAndTrustStore(string version)
    {
        await using var gateway = await StartTwoHostsAsync();
        var port = gateway.GatewayUri.Port;
        using var aWithOurs = TwoHosts.NamedClient(gateway, Pki.Good, Version.Parse(version));
        using var bWithOurs = TwoHosts.NamedClient(gateway, Pki.Good, Version.Parse(version));
        using var bWithOthers = TwoHosts.NamedClient(gateway, Pki.OtherRootLeaf, Version.Parse(version));

        Assert.Equal(HttpStatusCode.OK, (await aWithOurs.GetAsync($"https://a.test:{port}/a")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bWithOurs.GetAsync($"https://b.test:{port}/b")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bWithOthers.GetAsync($"https://b.test:{port}/b")).StatusCode);

        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, null);
        Assert.Equal("CN=localhost", ssl.RemoteCertificate!.Subject);
    }

    [SkippableTheory]
    [InlineData("--http1.1")]
    [InlineData("--http2")]
    public async Task ConnectionForHostA_AskedForHostB_Gets421_AndIsNeverRoutedToB(string protocol)
    {
        await using var gateway = await StartTwoHostsAsync();
        var port = gateway.GatewayUri.Port;
        var files = Directory.CreateTempSubdirectory("mtlsgate-curl-").FullName;
        WritePem(files, "client", Pki.Good);
        File.WriteAllText(Path.Combine(files, "ca.pem"), MtlsGate.Tls.Pki.CertificatePem(Pki.Root));
        string[] common = ["-s", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n", protocol, "--cacert", Path.Combine(files, "ca.pem"),
            "--cert", Path.Combine(files, "client.pem"), "--key", Path.Combine(files, "client.key"), "--connect-to", $"a.test:{port}:127.0.0.1:{port}"];

        // One curl run, two requests: --next keeps the connection, so the second (Host: b.test) rides
        // the TLS connection that was authenticated for a.test.
        var start = new System.Diagnostics.ProcessStartInfo(Tool.Require("curl")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in common.Concat([$"https://a.test:{port}/first", "--next"]).Concat(common).Concat(["-H", $"Host: b.test:{port}", $"https://a.test:{port}/second"]))
        {
            start.ArgumentList.Add(arg);
        }

        using var curl = System.Diagnostics.Process.Start(start)!;
        var output = await curl.StandardOutput.ReadToEndAsync();
        await curl.WaitForExitAsync();
        Directory.Delete(files, recursive: true);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal("200 1", lines[0]);
        Assert.Equal("421 0", lines[1]); // 0 new connections: the same connection was reused
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/second");
    }

    [Fact]
    public async Task ConnectionWithoutSni_UsesTheTopLevelDefault_AndCannotReachAConfiguredHost()
    {
        await using var gateway = await StartTwoHostsAsync();

        var toA = await RawTls.ExchangeAsync(gateway.GatewayUri, Pki.Good, "GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
        var toDefault = await RawTls.ExchangeAsync(gateway.GatewayUri, Pki.Good, "GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 421", Encoding.ASCII.GetString(toA), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(toDefault), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}", false)]
    [InlineData("{\"SubjectCommonNames\": []}", false)]
    [InlineData("{\"SubjectCommonNames\": [\"good-device\"]}", true)]
    public async Task IdentitiesInConfiguration_EmptyMeansNobody_ListedMeansOnlyThose(string identities, bool goodAllowed)
    {
        await using var gateway = await TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = new JsonObject { ["Identities"] = JsonNode.Parse(identities) } });
        using var good = gateway.Client(Pki.Good);
        using var other = gateway.Client(Pki.NoEku);

        Assert.Equal(goodAllowed ? HttpStatusCode.OK : HttpStatusCode.NotFound, (await good.GetAsync("/id")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync("/id")).StatusCode);
    }

    [Fact]
    public async Task BypassNetwork_LetsTheLanInWithoutACertificate()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = new JsonObject { ["BypassNetworks"] = new JsonArray("127.0.0.0/8") } });
        using var none = gateway.Client(null);

        Assert.Equal(HttpStatusCode.OK, (await none.GetAsync("/lan")).StatusCode);
    }

    [Fact]
    public async Task TrustedProxy_ItsForwardedForIsBelieved_ForNetworkRulesAndForwardedHeaders()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            config["MtlsGate"]!["TrustedProxies"] = new JsonArray("127.0.0.1");
            config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = new JsonObject { ["AllowNetworks"] = new JsonArray("203.0.113.0/24") } };
        });
        using var client = gateway.Client(Pki.Good);

        using var inside = new HttpRequestMessage(HttpMethod.Get, "/proxied");
        inside.Headers.TryAddWithoutValidation("X-Forwarded-For", "198.51.100.7, 203.0.113.9");
        using var outside = new HttpRequestMessage(HttpMethod.Get, "/outside");
        outside.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.9, 198.51.100.7");

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(inside)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(outside)).StatusCode);
        var seen = Assert.Single(gateway.Backend.Requests, r => r.Path == "/proxied");
        Assert.Equal("203.0.113.9", seen.Header("X-Real-IP"));
        Assert.Equal("203.0.113.9", seen.Header("X-Forwarded-For"));
    }

    [Fact]
    public async Task WithoutTrustedProxies_ForwardedForFromTheClientIsIgnored()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = new JsonObject { ["AllowNetworks"] = new JsonArray("203.0.113.0/24") } });
        using var client = gateway.Client(Pki.Good);
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/spoofed");
        spoofed.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.9");

        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(spoofed)).StatusCode);
    }

    [Fact]
    public async Task XfccFormat_IsEnvoysHeader_AndRfc9440SendsTheChainTheClientPresented()
    {
        await using var xfcc = await TestGateway.StartAsync(config => config["MtlsGate"]!["Forwarding"] = new JsonObject { ["IdentityHeaders"] = "Xfcc" });
        await using var rfc = await TestGateway.StartAsync(config => config["MtlsGate"]!["Forwarding"] = new JsonObject { ["IdentityHeaders"] = "Rfc9440" });
        using (var client = xfcc.Client(Pki.NastySubject))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/xfcc")).StatusCode);
        }

        using (var client = rfc.Client(Pki.ViaUnknownIntermediatePresented, chain: [Pki.UnknownIntermediate]))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/rfc")).StatusCode);
        }

        var header = Assert.Single(xfcc.Backend.Requests).Header("X-Forwarded-Client-Cert")!;
        Assert.StartsWith($"Hash={Pki.NastySubject.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant()};Subject=\"", header, StringComparison.Ordinal);
        Assert.DoesNotContain(header, c => c < 0x20 || c >= 0x7F);
        var seen = Assert.Single(rfc.Backend.Requests);
        Assert.Equal(Pki.ViaUnknownIntermediatePresented.RawData, Convert.FromBase64String(seen.Header("Client-Cert")!.Trim(':')));
        Assert.Equal(Pki.UnknownIntermediate.RawData, Convert.FromBase64String(seen.Header("Client-Cert-Chain")!.Trim(':')));
        Assert.Null(seen.Header("X-Client-Cert-Sha256"));
    }
}
