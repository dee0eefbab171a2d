using System.Text.Json.Nodes;

namespace MtlsGate.Tests.BlackBox;

/// <summary>Denial shapes other than the default 404: silent close, rejection in the handshake, an explicit wiping status.</summary>
[Collection(BlackBoxTests.Name)]
public sealed class DenialModeTests(PublishedGatewayFixture fixture)
{
    [Fact]
    public async Task DenyActionClose_Http11WithoutCertificate_GetsZeroBytes()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/closed", env.Sandbox.CaPem, client: null, Curl.VersionArguments(Tls.V13, Http.V11));

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Null(result.Status);
        Assert.Equal("", result.Process.StandardOutput);
        Assert.Empty(env.Backend.Requests);
    }

    /// <summary>
    /// 444-style: a clean close, which curl reports as 52 "Empty reply from server". Observed on
    /// .NET 10 / Linux: the gateway resets the TCP connection instead (curl 56 "Connection reset by peer").
    /// </summary>
    [Theory]
    [InlineData(Tls.V12)]
    [InlineData(Tls.V13)]
    public async Task DenyActionClose_Http11WithoutCertificate_IsACleanEmptyReply_CurlExit52(Tls tls)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/closed", env.Sandbox.CaPem, client: null, Curl.VersionArguments(tls, Http.V11));

        Assert.True(result.ExitCode == 52, result.ToString()); // CURLE_GOT_NOTHING: "Empty reply from server"
        Assert.Equal("", result.Process.StandardOutput);
    }

    /// <summary>
    /// The access event of a closed-by-policy request must not claim an answer that was never sent.
    /// Observed: <c>decision=Deny reason=NoCertificate ... status=200</c>.
    /// </summary>
    [Fact]
    public async Task DenyActionClose_AccessLog_DoesNotReportStatus200()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        await Curl.GetAsync(env.Gateway.GatewayUrl + "/closed-logged", env.Sandbox.CaPem, client: null, Curl.VersionArguments(Tls.V13, Http.V11));
        var line = "";
        for (var i = 0; i < 50 && line.Length == 0; i++)
        {
            await Task.Delay(100);
            line = env.Gateway.StandardOutput.Split('\n').FirstOrDefault(l => l.Contains("/closed-logged", StringComparison.Ordinal)) ?? "";
        }

        Assert.Contains("decision=Deny", line, StringComparison.Ordinal);
        Assert.DoesNotContain("status=200", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DenyActionClose_Http2WithoutCertificate_GetsNoHttpResponse()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/closed", env.Sandbox.CaPem, client: null, Curl.VersionArguments(Tls.V13, Http.V2));

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Null(result.Status);
        Assert.DoesNotContain("HTTP/", result.Process.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(env.Backend.Requests);
    }

    [Theory]
    [InlineData(Tls.V12, Http.V11)]
    [InlineData(Tls.V13, Http.V2)]
    public async Task DenyActionClose_WithValidCertificate_StillGets200(Tls tls, Http http)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/open", env.Sandbox.CaPem, env.Sandbox.Client, Curl.VersionArguments(tls, http));

        Assert.True(result.Status == 200, result.ToString());
        Assert.Single(env.Backend.Requests);
    }

    [Theory]
    [InlineData(Tls.V12)]
    [InlineData(Tls.V13)]
    public async Task RejectAtHandshake_WithoutOrWithBadCertificate_GetsNoHttpResponse_AndBackendSeesNothing(Tls tls)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithRejectAtHandshake());

        foreach (var client in new[] { null, env.Sandbox.OtherClient, env.Sandbox.ExpiredClient })
        {
            foreach (var http in new[] { Http.V11, Http.V2 })
            {
                var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/rejected", env.Sandbox.CaPem, client, Curl.VersionArguments(tls, http));

                Assert.True(result.ExitCode != 0, result.ToString());
                Assert.Null(result.Status);
                Assert.DoesNotContain("HTTP/", result.Process.StandardOutput, StringComparison.Ordinal);
            }
        }

        Assert.Empty(env.Backend.Requests);
    }

    /// <summary>
    /// The handshake itself must fail: curl 35 (SSL connect error) or 56 (the TLS 1.3 alert read
    /// after the client's Finished). Observed on .NET 10 / Linux: curl 52 "Empty reply from server",
    /// i.e. the handshake completed and the connection was then closed without a TLS alert.
    /// </summary>
    [Theory]
    [InlineData(Tls.V12, false)]
    [InlineData(Tls.V13, false)]
    [InlineData(Tls.V12, true)]
    [InlineData(Tls.V13, true)]
    public async Task RejectAtHandshake_WithoutOrWithUntrustedCertificate_CurlReportsATlsFailure(Tls tls, bool untrustedCertificate)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithRejectAtHandshake());

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/rejected", env.Sandbox.CaPem, untrustedCertificate ? env.Sandbox.OtherClient : null, Curl.VersionArguments(tls, Http.V11));

        Assert.True(result.ExitCode is 35 or 56, result.ToString());
        Assert.Null(result.Status);
    }

    /// <summary>
    /// With TLS 1.2 the server's Finished comes after the client's Certificate, so a real rejection at
    /// the handshake means s_client never completes it ("Cipher is (NONE)").
    /// </summary>
    [Fact]
    public async Task RejectAtHandshake_Tls12WithoutCertificate_OpensslHandshakeDoesNotComplete()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithRejectAtHandshake());

        var result = await OpensslClient.RequestAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem, client: null, Tls.V12);

        Assert.DoesNotContain("HTTP/1.1", result.StandardOutput, StringComparison.Ordinal);
        Assert.True(result.StandardOutput.Contains("Cipher is (NONE)", StringComparison.Ordinal), result.ToString());
    }

    [Theory]
    [InlineData(Tls.V12, Http.V11)]
    [InlineData(Tls.V13, Http.V2)]
    public async Task RejectAtHandshake_WithValidCertificate_Gets200(Tls tls, Http http)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithRejectAtHandshake());

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/accepted", env.Sandbox.CaPem, env.Sandbox.Client, Curl.VersionArguments(tls, http));

        Assert.True(result.Status == 200, result.ToString());
        var seen = Assert.Single(env.Backend.Requests);
        Assert.Equal(TestPki.Fingerprint(env.Pki.Client), seen.One("X-Client-Cert-Sha256"));
    }

    [Fact]
    public async Task DenyStatus403_WithAllowClientWipingStatus_StartsAndAnswers403WithoutCertificate()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject
        {
            ["Status"] = 403,
            ["Body"] = "Go away",
            ["ContentType"] = "text/plain",
            ["AllowClientWipingStatus"] = true,
        }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/wipe", env.Sandbox.CaPem, client: null, Curl.VersionArguments(Tls.V13, Http.V11));

        Assert.True(result.Status == 403, result.ToString());
        Assert.Equal("Go away", result.Body);
        Assert.False(result.HasHeader("Server"));
        Assert.Empty(env.Backend.Requests);
    }
}
