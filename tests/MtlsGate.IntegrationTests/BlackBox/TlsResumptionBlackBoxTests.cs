using MtlsGate.Tls;

namespace MtlsGate.Tests.BlackBox;

/// <summary>
/// The published gateway, started without OPENSSL_CONF (it sets its own, Tls/OpenSslConfiguration.cs):
/// sessions resume over TLS 1.2 and 1.3, and TLS 1.2 still refuses the CBC suites at the handshake.
/// The rules a resumed session is held to are in Security/TlsSessionResumptionTests.
/// </summary>
[Collection(BlackBoxTests.Name)]
public sealed class TlsResumptionBlackBoxTests(PublishedGatewayFixture fixture)
{
    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task The_published_gateway_resumes_a_session_and_serves_the_resumed_connection(string version)
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var folder = Directory.CreateTempSubdirectory("mtlsgate-resume-").FullName;
        try
        {
            var session = Path.Combine(folder, "session.pem");
            string[] cert = ["-cert", env.Sandbox.Client.Certificate, "-key", env.Sandbox.Client.Key];
            var first = await SClient.RunAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem, [version, .. cert, "-sess_out", session], SClient.RawRequest);
            Assert.True(SClient.Status(first) == 200, first.ToString());
            Assert.Equal("New", SClient.Resumption(first));

            var resumed = await SClient.RunAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem, [version, .. cert, "-sess_in", session], SClient.RawRequest);
            Assert.True(SClient.Status(resumed) == 200, resumed.ToString());
            Assert.Equal("Reused", SClient.Resumption(resumed));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public async Task The_published_gateway_refuses_TLS_1_2_CBC_suites_at_the_handshake_with_no_cipher_suites_policy()
    {
        var env = await fixture.GetDefaultGatewayAsync();
        string[] cert = ["-cert", env.Sandbox.Client.Certificate, "-key", env.Sandbox.Client.Key];
        var cbc = await SClient.RunAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem,
            ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384", .. cert], SClient.RawRequest);
        Assert.Null(SClient.Status(cbc));
        Assert.Contains("Cipher is (NONE)", cbc.StandardOutput, StringComparison.Ordinal);
        Assert.All(TlsSessionResumption.AllowedCipherSuites, suite => Assert.True(TlsSessionResumption.IsAllowedCipherSuite(suite)));
    }
}
