using Microsoft.AspNetCore.Http;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Proxy;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Text;

namespace MtlsGate.Tests.Proxy;

public sealed class HeaderTests
{
    [Theory]
    [InlineData("X-Client-Cert")]
    [InlineData("x-client-cert-sha256")]
    [InlineData("X-Forwarded-Client-Cert")]
    [InlineData("X-SSL-Client-Verify")]
    [InlineData("x-ssl-client-s-dn")]
    [InlineData("X-Forwarded-Tls-Client-Cert-Info")]
    [InlineData("Client-Cert")]
    [InlineData("CLIENT-CERT-CHAIN")]
    [InlineData("X-ARR-ClientCert")]
    [InlineData("Cf-Client-Cert-Sha256")]
    [InlineData("X-Real-IP")]
    [InlineData("X-Forwarded-For")]
    [InlineData("x-forwarded-proto")]
    [InlineData("X-Forwarded-Host")]
    [InlineData("Forwarded")]
    public void IsSpoofable_KnownClientCertificateOrForwardingHeader_IsTrue(string name) =>
        Assert.True(HeaderSanitizer.IsSpoofable(name));

    [Theory]
    [InlineData("Authorization")]
    [InlineData("Cookie")]
    [InlineData("Host")]
    [InlineData("Content-Type")]
    [InlineData("Device-Type")]
    public void IsSpoofable_OrdinaryHeader_IsFalse(string name) =>
        Assert.False(HeaderSanitizer.IsSpoofable(name));

    [Fact]
    public void Strip_RemovesSpoofedHeadersInAnyCaseAndKeepsTheRest()
    {
        var headers = new HeaderDictionary
        {
            ["x-client-cert-sha256"] = new(["forged", "forged-again"]),
            ["X-REAL-IP"] = "6.6.6.6",
            ["Authorization"] = "Bearer keep",
        };

        HeaderSanitizer.Strip(headers);

        Assert.Equal(["Authorization"], headers.Keys);
    }

    [Theory]
    [InlineData("plain CN=a, O=b", "plain CN=a, O=b")]
    [InlineData("a\r\nX-Evil: 1", "a%0D%0AX-Evil: 1")]
    [InlineData("100%", "100%25")]
    [InlineData("é", "%C3%A9")]
    [InlineData("nul\0", "nul%00")]
    public void Encode_MakesEveryValueASafeHeader(string input, string expected) =>
        Assert.Equal(expected, HeaderEncoding.Encode(input));

    [Fact]
    public void Encode_OfAnyCharacter_NeverYieldsControlCharacters()
    {
        for (var c = 0; c < 0x3000; c++)
        {
            if (char.IsSurrogate((char)c))
            {
                continue;
            }

            var encoded = HeaderEncoding.Encode("x" + (char)c + "y");
            Assert.DoesNotContain(encoded, ch => ch < 0x20 || ch >= 0x7F);
        }
    }

    [Fact]
    public void IdentityHeaders_ForNastySubject_AreAllSafeValues()
    {
        var identity = new ClientIdentity(TestPki.Instance.NastySubject, DenyReason.None);

        var headers = IdentityHeaders.For(identity, IdentityHeaderFormat.Individual);

        Assert.Contains(headers, h => h.Key == IdentityHeaders.Subject && h.Value.Contains("%0D%0AX-Injected", StringComparison.Ordinal));
        Assert.All(headers, h => Assert.DoesNotContain(h.Value, ch => ch < 0x20 || ch >= 0x7F));
    }

    [Fact]
    public void IdentityHeaders_Rfc9440_IsTheBase64DerAsAByteSequence()
    {
        var certificate = TestPki.Instance.Good;

        var headers = IdentityHeaders.For(new ClientIdentity(certificate, DenyReason.None), IdentityHeaderFormat.Rfc9440);

        var value = Assert.Single(headers, h => h.Key == "Client-Cert").Value;
        Assert.Equal(certificate.RawData, Convert.FromBase64String(value.Trim(':')));
    }

    [Fact]
    public void IdentityHeaders_ForInvalidCertificate_OnlySayFailed()
    {
        var headers = IdentityHeaders.For(new ClientIdentity(TestPki.Instance.Expired, DenyReason.Expired), IdentityHeaderFormat.Individual);

        Assert.Equal([new KeyValuePair<string, string>(IdentityHeaders.Verify, "FAILED")], headers);
    }
}
