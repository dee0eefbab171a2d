using System.Text.Json.Nodes;

namespace MtlsGate.Tests.BlackBox;

/// <summary>Denial shapes other than the default 404: silent close, rejection in the handshake, an explicit wiping status.</summary>
[Collection(BlackBoxTests.Name)]
public sealed class DenialModeTests(PublishedGatewayFixture fixture)
{
    [SkippableFact]
    public async Task DenyActionClose_Http11WithoutCertificate_GetsZeroBytes()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/closed", env.Sandbox.CaPem, client: null, Curl.VersionArguments(TlsVersion.V13, Http.V11));

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Null(result.Status);
        Assert.Equal("", result.Process.StandardOutput);
        Assert.Empty(env.Backend.Requests);
    }

    /// <summary>
    /// 444-style: zero bytes, then the connection ends. Kestrel's abort ends it with a TCP reset
    /// (curl 56 "Connection reset by peer"); a FIN would give curl 52 "Empty reply from server".
    /// Either way the client app sees a closed connection, which keeps Bitwarden's cache.
    /// </summary>
    [SkippableTheory]
    [InlineData(TlsVersion.V12)]
    [InlineData(TlsVersion.V13)]
    public async Task DenyActionClose_Http11WithoutCertificate_GetsZeroBytesAndAClosedConnection(TlsVersion tls)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/closed", env.Sandbox.CaPem, client: null, Curl.VersionArguments(tls, Http.V11));

        Assert.True(result.ExitCode is 52 or 56, result.ToString()); // empty reply, or connection reset
        Assert.Null(result.Status);
        Assert.Equal("", result.Process.StandardOutput);
        Assert.Empty(env.Backend.Requests);
    }

    /// <summary>
    /// The access event of a closed-by-policy request must not claim an answer that was never sent.
    /// A silent close is logged as status=444 (nginx's convention), never as the 200 nobody sent.
    /// </summary>
    [SkippableFact]
    public async Task DenyActionClose_AccessLog_ReportsStatus444NotAnAnswerThatWasNeverSent()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        await Curl.GetAsync(env.Gateway.GatewayUrl + "/closed-logged", env.Sandbox.CaPem, client: null, Curl.VersionArguments(TlsVersion.V13, Http.V11));
        var line = "";
        await Eventually.TrueAsync(
            () => (line = env.Gateway.StandardOutput.Split('\n').FirstOrDefault(l => l.Contains("/closed-logged", StringComparison.Ordinal)) ?? "").Length > 0,
            TimeSpan.FromSeconds(5),
            "the access line of /closed-logged is written");

        Assert.Contains("decision=Deny", line, StringComparison.Ordinal);
        Assert.Contains("status=444", line, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task DenyActionClose_Http2WithoutCertificate_GetsNoHttpResponse()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/closed", env.Sandbox.CaPem, client: null, Curl.VersionArguments(TlsVersion.V13, Http.V2));

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Null(result.Status);
        Assert.DoesNotContain("HTTP/", result.Process.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(env.Backend.Requests);
    }

    [SkippableTheory]
    [InlineData(TlsVersion.V12, Http.V11)]
    [InlineData(TlsVersion.V13, Http.V2)]
    public async Task DenyActionClose_WithValidCertificate_StillGets200(TlsVersion tls, Http http)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject { ["Action"] = "Close" }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/open", env.Sandbox.CaPem, env.Sandbox.Client, Curl.VersionArguments(tls, http));

        Assert.True(result.Status == 200, result.ToString());
        Assert.Single(env.Backend.Requests);
    }

    [SkippableTheory]
    [InlineData(TlsVersion.V12)]
    [InlineData(TlsVersion.V13)]
    public async Task RejectAtHandshake_WithoutOrWithBadCertificate_GetsNoHttpResponse_AndBackendSeesNothing(TlsVersion tls)
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
    /// Refused before any HTTP byte. On .NET 10 / Linux, SslStream validates the client certificate
    /// after OpenSSL has finished the handshake and then closes the connection without a TLS alert,
    /// so curl reports 35, 52 or 56 depending on timing; never an HTTP status (documented in README).
    /// </summary>
    [SkippableTheory]
    [InlineData(TlsVersion.V12, false)]
    [InlineData(TlsVersion.V13, false)]
    [InlineData(TlsVersion.V12, true)]
    [InlineData(TlsVersion.V13, true)]
    public async Task RejectAtHandshake_WithoutOrWithUntrustedCertificate_CurlGetsNoHttpResponse(TlsVersion tls, bool untrustedCertificate)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithRejectAtHandshake());

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/rejected", env.Sandbox.CaPem, untrustedCertificate ? env.Sandbox.OtherClient : null, Curl.VersionArguments(tls, Http.V11));

        Assert.True(result.ExitCode is 35 or 52 or 56, result.ToString());
        Assert.Null(result.Status);
        Assert.Empty(env.Backend.Requests);
    }

    /// <summary>
    /// A raw HTTP request written by s_client right after the handshake gets no answer: the
    /// connection is dropped before the HTTP layer (no TLS alert on Linux, see above).
    /// </summary>
    [SkippableFact]
    public async Task RejectAtHandshake_Tls12WithoutCertificate_OpensslGetsNoHttpAnswer()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithRejectAtHandshake());

        var result = await SClient.RequestAsync(env.Gateway.GatewayPort, env.Sandbox.CaPem, client: null, TlsVersion.V12);

        Assert.DoesNotContain("HTTP/1.1", result.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(env.Backend.Requests);
    }

    [SkippableTheory]
    [InlineData(TlsVersion.V12, Http.V11)]
    [InlineData(TlsVersion.V13, Http.V2)]
    public async Task RejectAtHandshake_WithValidCertificate_Gets200(TlsVersion tls, Http http)
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithRejectAtHandshake());

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/accepted", env.Sandbox.CaPem, env.Sandbox.Client, Curl.VersionArguments(tls, http));

        Assert.True(result.Status == 200, result.ToString());
        var seen = Assert.Single(env.Backend.Requests);
        Assert.Equal(TestPki.Fingerprint(env.Pki.Good), seen.One("X-Client-Cert-Sha256"));
    }

    [SkippableFact]
    public async Task DenyStatus403_WithAllowClientWipingStatus_StartsAndAnswers403WithoutCertificate()
    {
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => config.WithDeny(new JsonObject
        {
            ["Status"] = 403,
            ["Body"] = "Go away",
            ["ContentType"] = "text/plain",
            ["AllowClientWipingStatus"] = true,
        }));

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + "/wipe", env.Sandbox.CaPem, client: null, Curl.VersionArguments(TlsVersion.V13, Http.V11));

        Assert.True(result.Status == 403, result.ToString());
        Assert.Equal("Go away", result.Body);
        Assert.False(result.HasHeader("Server"));
        Assert.Empty(env.Backend.Requests);
    }
}
