using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// The identity is computed once per connection, so a long-lived keep-alive (HTTP/1.1) or multiplexed
/// (HTTP/2) connection is where a revoked certificate would survive: after the CRL reload, the very
/// same connection must be refused.
/// </summary>
public sealed class OpenConnectionRevocationTests(ITestOutputHelper output)
{
    private static TestPki Pki => TestPki.Instance;

    [SkippableFact]
    public async Task A_keep_alive_HTTP_1_1_connection_is_refused_after_its_certificate_is_revoked()
    {
        using var files = new SClientFiles();
        var crl = files.Path("root.crl");
        File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [], number: 1));
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray(crl);
        });

        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/before", "localhost"), StringComparison.Ordinal);

        Assert.True(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [Pki.Good], number: 2))));
        var after = await Http1.SendAsync(ssl, "/after", "localhost");
        output.WriteLine(after);

        Assert.True(after.Length == 0 || after.StartsWith("HTTP/1.1 404", StringComparison.Ordinal), after);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after");
    }

    [SkippableFact]
    public async Task An_HTTP_2_connection_is_refused_after_its_certificate_is_revoked()
    {
        using var files = new SClientFiles();
        var crl = files.Path("root.crl");
        File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [], number: 1));
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray(crl);
        });
        using var client = gateway.Client(Pki.Good, HttpVersion.Version20);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/before")).StatusCode);
        Assert.True(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [Pki.Good], number: 2))));
        var after = await Record.ExceptionAsync(async () => Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/after")).StatusCode));

        Assert.Null(after);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after");
    }

    [SkippableFact]
    public async Task A_keep_alive_connection_to_a_host_with_its_own_trust_store_is_refused_after_revocation_in_that_store()
    {
        using var files = new SClientFiles();
        var otherCrl = files.Path("other.crl");
        File.WriteAllBytes(otherCrl, TestPki.Crl(Pki.OtherRoot, [], number: 1));
        await using var gateway = await TwoHosts.StartAsync(files.Folder, config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["TrustStores"]!["Other"]!["Crls"] = new JsonArray(otherCrl);
        });

        await using var ssl = await ConnectAsync(gateway, "b.test", Pki.OtherRootLeaf);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/b-before", "b.test"), StringComparison.Ordinal);

        Assert.True(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(otherCrl, TestPki.Crl(Pki.OtherRoot, [Pki.OtherRootLeaf], number: 2))));
        var after = await Http1.SendAsync(ssl, "/b-after", "b.test");
        output.WriteLine(after);

        Assert.True(after.Length == 0 || after.StartsWith("HTTP/1.1 404", StringComparison.Ordinal), after);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/b-after");

        await using var fresh = await ConnectAsync(gateway, "b.test", Pki.OtherRootLeaf);
        Assert.StartsWith("HTTP/1.1 404", await Http1.SendAsync(fresh, "/b-fresh", "b.test"), StringComparison.Ordinal);
    }

    private static async Task<SslStream> ConnectAsync(TestGateway gateway, string sni, X509Certificate2 certificate)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gateway.GatewayUri.Port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        var options = TestGateway.ClientTls(certificate);
        options.TargetHost = sni;
        options.ApplicationProtocols = [SslApplicationProtocol.Http11];
        await ssl.AuthenticateAsClientAsync(options);
        return ssl;
    }
}
