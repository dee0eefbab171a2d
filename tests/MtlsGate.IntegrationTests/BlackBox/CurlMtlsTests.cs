namespace MtlsGate.Tests.BlackBox;

/// <summary>The published gateway against real curl: TLS 1.2/1.3 × HTTP/1.1 and HTTP/2.</summary>
[Collection(BlackBoxTests.Name)]
public sealed class CurlMtlsTests(PublishedGatewayFixture fixture)
{
    public static TheoryData<TlsVersion, Http> Protocols => new()
    {
        { TlsVersion.V12, Http.V11 },
        { TlsVersion.V12, Http.V2 },
        { TlsVersion.V13, Http.V11 },
        { TlsVersion.V13, Http.V2 },
    };

    private static string UniquePath(string name) => $"/bb/{name}/{Guid.NewGuid():N}";

    private static string ExpectedStatusLinePrefix(Http http) => http == Http.V2 ? "HTTP/2 " : "HTTP/1.1 ";

    [SkippableTheory]
    [MemberData(nameof(Protocols))]
    public async Task Curl_WithValidCertificate_Gets200_AndBackendSeesTheFingerprint(TlsVersion tls, Http http)
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("valid");

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, env.Sandbox.Client, Curl.VersionArguments(tls, http));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(200, result.Status);
        Assert.StartsWith(ExpectedStatusLinePrefix(http), result.StatusLine, StringComparison.Ordinal);
        Assert.Equal(RecordingBackend.OkBody, result.Body);
        var seen = Assert.Single(env.Backend.RequestsFor(path));
        Assert.Equal(TestPki.Fingerprint(env.Pki.Good), seen.One("X-Client-Cert-Sha256"));
        Assert.Equal("SUCCESS", seen.One("X-Client-Cert-Verify"));
        Assert.Contains("CN=good-device", seen.One("X-Client-Cert-Subject"), StringComparison.Ordinal);
        Assert.Contains("CN=MtlsGate Test Root", seen.One("X-Client-Cert-Issuer"), StringComparison.Ordinal);
        Assert.Equal(env.Pki.Good.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture), seen.One("X-Client-Cert-Not-After"));
        Assert.Equal("127.0.0.1", seen.One("X-Real-IP"));
        Assert.Equal("127.0.0.1", seen.One("X-Forwarded-For"));
        Assert.Equal("https", seen.One("X-Forwarded-Proto"));
    }

    [SkippableTheory]
    [MemberData(nameof(Protocols))]
    public async Task Curl_WithoutCertificate_Gets404NotFound_AndBackendSeesNothing(TlsVersion tls, Http http)
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("nocert");

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, client: null, Curl.VersionArguments(tls, http));

        AssertDefaultDenial(result, http);
        Assert.Empty(env.Backend.RequestsFor(path));
    }

    [SkippableTheory]
    [MemberData(nameof(Protocols))]
    public async Task Curl_WithCertificateFromAnotherCa_Gets404(TlsVersion tls, Http http)
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("otherca");

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, env.Sandbox.OtherClient, Curl.VersionArguments(tls, http));

        AssertDefaultDenial(result, http);
        Assert.Empty(env.Backend.RequestsFor(path));
    }

    [SkippableTheory]
    [MemberData(nameof(Protocols))]
    public async Task Curl_WithExpiredCertificate_Gets404(TlsVersion tls, Http http)
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("expired");

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, env.Sandbox.ExpiredClient, Curl.VersionArguments(tls, http));

        AssertDefaultDenial(result, http);
        Assert.Empty(env.Backend.RequestsFor(path));
    }

    [SkippableFact]
    public async Task Curl_LimitedToTls11_CannotConnect()
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("tls11");

        // SECLEVEL=0 so that curl's own OpenSSL 3 would speak TLS 1.0/1.1: the refusal must come from the gateway.
        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, env.Sandbox.Client,
            ["--tlsv1.0", "--tls-max", "1.1", "--ciphers", "DEFAULT@SECLEVEL=0", "--http1.1"]);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Null(result.Status);
        Assert.Empty(env.Backend.RequestsFor(path));
    }

    [SkippableTheory]
    [MemberData(nameof(Protocols))]
    public async Task Curl_SpoofedIdentityAndForwardingHeaders_AreReplacedByTheGatewaysValues(TlsVersion tls, Http http)
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("spoof");
        string[] spoofed =
        [
            "-H", "X-Client-Cert-Sha256: forged",
            "-H", "x-client-cert-sha256: forged-again",
            "-H", "X-CLIENT-CERT-VERIFY: SUCCESS",
            "-H", "X-Client-Cert-Subject: CN=admin",
            "-H", "x-forwarded-for: 6.6.6.6",
            "-H", "X-Forwarded-For: 7.7.7.7",
            "-H", "X-Forwarded-Proto: http",
            "-H", "X-Forwarded-Host: evil.example",
            "-H", "X-Real-IP: 6.6.6.6",
            "-H", "x-real-ip: 6.6.6.6",
            "-H", "X-SSL-Client-Verify: SUCCESS",
            "-H", "X-Forwarded-Client-Cert: Hash=forged",
            "-H", "Forwarded: for=6.6.6.6",
        ];

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, env.Sandbox.Client, [.. Curl.VersionArguments(tls, http), .. spoofed]);

        Assert.True(result.Status == 200, result.ToString());
        var seen = Assert.Single(env.Backend.RequestsFor(path));
        Assert.Equal([TestPki.Fingerprint(env.Pki.Good)], seen.Values("X-Client-Cert-Sha256"));
        Assert.Equal(["SUCCESS"], seen.Values("X-Client-Cert-Verify"));
        Assert.DoesNotContain("CN=admin", seen.Values("X-Client-Cert-Subject"));
        Assert.Equal(["127.0.0.1"], seen.Values("X-Forwarded-For"));
        Assert.Equal(["127.0.0.1"], seen.Values("X-Real-IP"));
        Assert.Equal(["https"], seen.Values("X-Forwarded-Proto"));
        Assert.DoesNotContain(seen.Values("X-Forwarded-Host"), v => v.Contains("evil", StringComparison.Ordinal));
        Assert.Empty(seen.Values("X-SSL-Client-Verify"));
        Assert.Empty(seen.Values("X-Forwarded-Client-Cert"));
        Assert.Empty(seen.Values("Forwarded"));
        Assert.DoesNotContain(seen.Headers.Values.SelectMany(v => v), v => v.Contains("6.6.6.6", StringComparison.Ordinal) || v.Contains("7.7.7.7", StringComparison.Ordinal) || v.Contains("forged", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Curl_SpoofedVerifyHeaderWithoutCertificate_IsStillDenied()
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("spoof-nocert");

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, client: null,
            ["--http1.1", "-H", "X-Client-Cert-Verify: SUCCESS", "-H", $"X-Client-Cert-Sha256: {TestPki.Fingerprint(env.Pki.Good)}"]);

        AssertDefaultDenial(result, Http.V11);
        Assert.Empty(env.Backend.RequestsFor(path));
    }

    [SkippableTheory]
    [InlineData("unauthorized", 401, RecordingBackend.UnauthorizedBody, Http.V11)]
    [InlineData("forbidden", 403, RecordingBackend.ForbiddenBody, Http.V11)]
    [InlineData("unauthorized", 401, RecordingBackend.UnauthorizedBody, Http.V2)]
    [InlineData("forbidden", 403, RecordingBackend.ForbiddenBody, Http.V2)]
    public async Task Curl_BackendsOwn401And403_PassThroughUnchanged(string leaf, int status, string body, Http http)
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("passthrough") + "/" + leaf;

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, env.Sandbox.Client, Curl.VersionArguments(TlsVersion.V13, http));

        Assert.True(result.Status == status, result.ToString());
        Assert.Equal(body, result.Body);
        if (status == 401)
        {
            Assert.Equal(["Bearer realm=\"backend\""], result.HeaderValues("WWW-Authenticate"));
        }
        else
        {
            Assert.Equal(["forbidden-by-backend"], result.HeaderValues("X-Backend-Reason"));
        }

        Assert.Single(env.Backend.RequestsFor(path));
    }

    [SkippableTheory]
    [InlineData(true, Http.V11)]
    [InlineData(false, Http.V11)]
    [InlineData(true, Http.V2)]
    [InlineData(false, Http.V2)]
    public async Task Curl_NoResponse_CarriesAServerHeader(bool withCertificate, Http http)
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("server-header");

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, withCertificate ? env.Sandbox.Client : null, Curl.VersionArguments(TlsVersion.V13, http));

        Assert.True(result.Status == (withCertificate ? 200 : 404), result.ToString());
        Assert.False(result.HasHeader("Server"), result.ToString());
    }

    [SkippableFact]
    public async Task Curl_BackendErrorResponse_CarriesNoServerHeader()
    {
        var env = await fixture.GetDefaultGatewayAsync();
        var path = UniquePath("server-header") + "/forbidden";

        var result = await Curl.GetAsync(env.Gateway.GatewayUrl + path, env.Sandbox.CaPem, env.Sandbox.Client, Curl.VersionArguments(TlsVersion.V12, Http.V11));

        Assert.True(result.Status == 403, result.ToString());
        Assert.False(result.HasHeader("Server"), result.ToString());
    }

    internal static void AssertDefaultDenial(CurlResult result, Http http)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Status == 404, result.ToString());
        Assert.StartsWith(ExpectedStatusLinePrefix(http), result.StatusLine, StringComparison.Ordinal);
        Assert.Equal("Not Found", result.Body);
        Assert.Equal(["text/plain"], result.HeaderValues("Content-Type"));
        Assert.False(result.HasHeader("Server"), result.ToString());
    }
}
