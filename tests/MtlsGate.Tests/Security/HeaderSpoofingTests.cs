using System.Text;
using System.Text.Json.Nodes;
using MtlsGate.Proxy;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Spoofed identity and forwarding headers in forms the exact-name sanitizer might miss. Many
/// backends (CGI, PHP, WSGI, Rack, and nginx with underscores_in_headers on) map '-' and '_' to
/// the same variable: X_Client_Cert_Subject and X-Client-Cert-Subject both become
/// HTTP_X_CLIENT_CERT_SUBJECT, so an underscore spelling is as good as the real header.
/// </summary>
public sealed class HeaderSpoofingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("X_Client_Cert_Subject: CN=admin")]
    [InlineData("X-Client_Cert-Verify: SUCCESS")]
    [InlineData("x_client_cert_sha256: 00")]
    [InlineData("X_Forwarded_For: 10.0.0.1")]
    [InlineData("X_Real_IP: 10.0.0.1")]
    [InlineData("X_Forwarded_Client_Cert: Hash=00;Subject=\"CN=admin\"")]
    [InlineData("Client_Cert: :AAAA:")]
    public async Task A_client_header_that_a_backend_would_read_as_an_identity_or_forwarding_header_never_reaches_the_backend(string header)
    {
        await using var gateway = await TestGateway.StartAsync();

        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, TestPki.Instance.Good,
            $"GET /spoof HTTP/1.1\r\nHost: localhost\r\n{header}\r\nConnection: close\r\n\r\n"));
        output.WriteLine(response.Split("\r\n")[0]);

        if (gateway.Backend.Requests.SingleOrDefault(r => r.Path == "/spoof") is { } seen)
        {
            var leaked = seen.Headers.Keys.Where(k => k.Contains('_', StringComparison.Ordinal) && HeaderSanitizer.IsSpoofable(k.Replace('_', '-'))).ToList();
            output.WriteLine("backend received: " + string.Join(", ", seen.Headers.Select(h => h.Key + ": " + string.Join(",", h.Value))));
            Assert.True(leaked.Count == 0, "forwarded to the backend: " + string.Join(", ", leaked));
        }
        else
        {
            // Refusing the request outright (400) is an acceptable answer too.
            Assert.StartsWith("HTTP/1.1 400", response, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task On_a_public_path_a_client_without_certificate_cannot_hand_the_backend_a_forged_identity_in_underscore_spelling()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = new JsonObject { ["Require"] = "None" } });

        await RawTls.ExchangeAsync(gateway.GatewayUri, null,
            "GET /public HTTP/1.1\r\nHost: localhost\r\nX_Client_Cert_Verify: SUCCESS\r\nX_Client_Cert_Subject: CN=admin, O=Home\r\nConnection: close\r\n\r\n");

        var seen = gateway.Backend.Requests.Single(r => r.Path == "/public");
        output.WriteLine("backend received: " + string.Join(", ", seen.Headers.Select(h => h.Key + ": " + string.Join(",", h.Value))));
        // The gateway's own verdict for this connection.
        Assert.Equal("NONE", seen.Header(IdentityHeaders.Verify));
        // A CGI-style backend reads HTTP_X_CLIENT_CERT_SUBJECT: it must not exist in any spelling.
        Assert.Null(seen.Header("X_Client_Cert_Subject"));
        Assert.Null(seen.Header("X_Client_Cert_Verify"));
    }
}
