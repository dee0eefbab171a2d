using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tls;

namespace MtlsGate.Tests.BlackBox;

/// <summary>The published gateway against <c>openssl s_client</c>: raw HTTP/1.1, certificate request, served chain, PKCS#12.</summary>
[Collection(BlackBoxTests.Name)]
public sealed class OpensslTests(PublishedGatewayFixture fixture)
{
    [SkippableTheory]
    [InlineData(TlsVersion.V12)]
    [InlineData(TlsVersion.V13)]
    public async Task SClient_WithValidCertificate_Gets200(TlsVersion tls)
    {
        var env = await fixture.GetDefaultGatewayAsync();

        var result = await SClient.RequestAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem, env.Sandbox.Client, tls);

        Assert.True(result.StandardOutput.Contains("HTTP/1.1 200", StringComparison.Ordinal), result.ToString());
        Assert.Contains(RecordingBackend.OkBody, result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(tls == TlsVersion.V12 ? "TLSv1.2" : "TLSv1.3", result.StandardOutput, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(TlsVersion.V12)]
    [InlineData(TlsVersion.V13)]
    public async Task SClient_WithoutCertificate_Gets404(TlsVersion tls)
    {
        var env = await fixture.GetDefaultGatewayAsync();

        var result = await SClient.RequestAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem, client: null, tls);

        Assert.True(result.StandardOutput.Contains("HTTP/1.1 404", StringComparison.Ordinal), result.ToString());
        Assert.Contains("\r\n\r\nNot Found", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Server:", result.StandardOutput, StringComparison.OrdinalIgnoreCase);
    }

    [SkippableTheory]
    [InlineData(TlsVersion.V12)]
    [InlineData(TlsVersion.V13)]
    public async Task SClient_ShowsTheServerRequestedAClientCertificate(TlsVersion tls)
    {
        var env = await fixture.GetDefaultGatewayAsync();

        var result = await SClient.RequestAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem, client: null, tls);

        var output = result.StandardOutput;
        Assert.True(
            output.Contains("Acceptable client certificate CA names", StringComparison.Ordinal)
            || output.Contains("Requested Signature Algorithms", StringComparison.Ordinal)
            || output.Contains("Client Certificate Types", StringComparison.Ordinal),
            result.ToString());
    }

    [SkippableTheory]
    [InlineData(TlsVersion.V12)]
    [InlineData(TlsVersion.V13)]
    public async Task SClient_ServerCertificateFromAnIntermediate_IsServedWithTheCompleteChain(TlsVersion tls)
    {
        using var intermediate = new Holder();
        await using var env = await GatewayEnvironment.StartAsync(fixture, (sandbox, pki, _) =>
        {
            intermediate.Certificate = Pki.Issue(pki.Root, "CN=BlackBox Server Intermediate, O=MtlsGate tests", new IssueOptions { IsCertificateAuthority = true, ExtendedKeyUsages = null });
            using var leaf = TestPki.IssueServer(intermediate.Certificate);
            sandbox.Write("server.pem", Pki.CertificatePem(leaf) + Pki.CertificatePem(intermediate.Certificate));
            sandbox.Write("server.key", Pki.KeyPem(leaf));
        });

        var result = await SClient.RequestAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem, env.Sandbox.Client, tls, ["-showcerts"]);

        var output = result.StandardOutput;
        Assert.True(output.Contains("HTTP/1.1 200", StringComparison.Ordinal), result.ToString());
        var chain = output.Split('\n').Where(l => l.StartsWith(' ') && l.Contains(" s:", StringComparison.Ordinal)).ToList();
        Assert.True(chain.Count == 2, result.ToString());
        Assert.StartsWith(" 0 s:", chain[0], StringComparison.Ordinal);
        Assert.Contains("CN = localhost", chain[0], StringComparison.Ordinal);
        Assert.StartsWith(" 1 s:", chain[1], StringComparison.Ordinal);
        Assert.Contains("CN = BlackBox Server Intermediate", chain[1], StringComparison.Ordinal);
        Assert.True(output.Contains("Verify return code: 0 (ok)", StringComparison.Ordinal), result.ToString());
    }

    [SkippableTheory]
    [InlineData(TlsVersion.V12)]
    [InlineData(TlsVersion.V13)]
    public async Task Curl_Pkcs12ServerCertificateWithPassword_Works(TlsVersion tls)
    {
        const string password = "blackbox-pfx-password";
        await using var env = await GatewayEnvironment.StartAsync(fixture, (sandbox, pki, config) =>
        {
            sandbox.Write("server.pfx", pki.ServerLeaf.Export(X509ContentType.Pfx, password));
            File.Delete(sandbox.ServerPem);
            File.Delete(sandbox.ServerKey);
            config.WithServerCertificate(new() { ["Path"] = "server.pfx", ["Password"] = password });
        });

        var withCertificate = await Curl.GetAsync(env.Gateway.GatewayUrl + "/pfx", env.Sandbox.CaPem, env.Sandbox.Client, Curl.VersionArguments(tls, Http.V2));
        var without = await Curl.GetAsync(env.Gateway.GatewayUrl + "/pfx", env.Sandbox.CaPem, client: null, Curl.VersionArguments(tls, Http.V11));

        Assert.True(withCertificate.Status == 200, withCertificate.ToString());
        CurlMtlsTests.AssertDefaultDenial(without, Http.V11);
        Assert.Single(env.Backend.Requests);
    }

    private sealed class Holder : IDisposable
    {
        public X509Certificate2? Certificate { get; set; }

        public void Dispose() => Certificate?.Dispose();
    }
}
