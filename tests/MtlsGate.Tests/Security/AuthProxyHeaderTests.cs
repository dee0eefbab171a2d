using System.Net;
using System.Net.Http;
using System.Text;
using MtlsGate.Proxy;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Security case 28: identity headers of authenticating proxies (Authelia, Authentik, oauth2-proxy,
/// Azure App Service, AWS ALB mTLS, nginx/Apache client-certificate variables) are backends' word
/// for "who is this". A client must never be able to send them through the gateway.
/// </summary>
public sealed class AuthProxyHeaderTests(ITestOutputHelper output)
{
    /// <summary>One or more spellings per family; the real gateway test sends each in mixed case, twice.</summary>
    public static readonly string[] Headers =
    [
        "Remote-User", "Remote-Email", "Remote-Groups", "Remote-Name", "X-Remote-User",
        "X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username",
        "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Access-Token", "X-Auth-Request-Groups",
        "Ssl-Client-Verify", "Ssl-Client-S-Dn", "Ssl-Client-Cert",
        "X-Amzn-Mtls-Clientcert", "X-Amzn-Mtls-Clientcert-Subject", "X-Amzn-Mtls-Clientcert-Leaf",
        "X-MS-Client-Principal", "X-MS-Client-Principal-Name", "X-MS-Client-Principal-Id", "X-MS-Client-Principal-Idp",
    ];

    public static TheoryData<string> HeaderNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Headers)
        {
            data.Add(name);
            data.Add(name.ToLowerInvariant());
            data.Add(MixedCase(name));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HeaderNames))]
    public void IsSpoofable_an_auth_proxy_identity_header_in_any_case_is_true(string name) =>
        Assert.True(HeaderSanitizer.IsSpoofable(name));

    [Theory]
    [InlineData("Remote-Addr-Family")]
    [InlineData("X-Remote")]
    [InlineData("X-Auth-Request")]
    [InlineData("Ssl-Client")]
    [InlineData("X-Amzn-Trace-Id")]
    [InlineData("X-MS-Client")]
    [InlineData("Authorization")]
    public void IsSpoofable_names_outside_the_families_stay_false(string name) =>
        Assert.False(HeaderSanitizer.IsSpoofable(name));

    [Fact]
    public async Task Over_HTTP_1_1_the_backend_sees_none_of_them_sent_in_mixed_case_and_duplicated()
    {
        await using var gateway = await TestGateway.StartAsync();
        var request = new StringBuilder("GET /auth-proxy-headers HTTP/1.1\r\nHost: localhost\r\n");
        foreach (var name in Headers)
        {
            request.Append(MixedCase(name)).Append(": admin\r\n").Append(name.ToUpperInvariant()).Append(": admin@example.com\r\n");
        }

        request.Append("X-Kept: yes\r\nConnection: close\r\n\r\n");

        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, TestPki.Instance.Good, request.ToString()));

        Assert.StartsWith("HTTP/1.1 200 ", response, StringComparison.Ordinal);
        AssertNoneReached(gateway.Backend.Requests.Single(r => r.Path == "/auth-proxy-headers"));
    }

    [Fact]
    public async Task Over_HTTP_2_the_backend_sees_none_of_them_sent_in_mixed_case_and_duplicated()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var client = gateway.Client(TestPki.Instance.Good, HttpVersion.Version20);
        using var message = new HttpRequestMessage(HttpMethod.Get, "/auth-proxy-headers-h2")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        foreach (var name in Headers)
        {
            message.Headers.TryAddWithoutValidation(MixedCase(name), ["admin", "admin@example.com"]);
        }

        message.Headers.TryAddWithoutValidation("X-Kept", "yes");

        using var response = await client.SendAsync(message);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        AssertNoneReached(gateway.Backend.Requests.Single(r => r.Path == "/auth-proxy-headers-h2"));
    }

    private void AssertNoneReached(RecordedRequest seen)
    {
        output.WriteLine("backend received: " + string.Join(", ", seen.Headers.Keys));
        var leaked = Headers.Where(name => seen.Header(name) is not null).ToList();
        Assert.True(leaked.Count == 0, "forwarded to the backend: " + string.Join(", ", leaked));
        Assert.Equal("yes", seen.Header("X-Kept"));
        // The gateway's own forwarding header is there: only the client's copies went.
        Assert.NotNull(seen.Header("X-Forwarded-For"));
    }

    private static string MixedCase(string name) =>
        string.Concat(name.Select((c, i) => i % 2 == 0 ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)));
}
