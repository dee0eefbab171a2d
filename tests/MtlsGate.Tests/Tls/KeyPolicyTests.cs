using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Tls;

public sealed class KeyPolicyTests
{
    private static X509Certificate2 SelfSigned(AsymmetricAlgorithm key)
    {
        var request = key switch
        {
            RSA rsa => new CertificateRequest("CN=key-policy", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest("CN=key-policy", ec, HashAlgorithmName.SHA256),
            _ => throw new ArgumentException("unsupported key", nameof(key)),
        };
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Theory]
    [InlineData(2048, true)]
    [InlineData(3072, true)]
    [InlineData(4096, true)]
    [InlineData(1024, false)]
    [InlineData(2040, false)]
    public void AnRsaKey_IsAcceptable_FromTwoThousandFortyEightBits(int bits, bool acceptable)
    {
        using var rsa = RSA.Create(bits);
        using var certificate = SelfSigned(rsa);

        Assert.Equal(acceptable, ChainValidator.HasAcceptableKey(certificate));
    }

    [Theory]
    [InlineData("1.2.840.10045.3.1.7", true)]   // P-256
    [InlineData("1.3.132.0.34", true)]          // P-384
    [InlineData("1.3.132.0.35", true)]          // P-521
    [InlineData("1.3.132.0.10", false)]         // secp256k1
    [InlineData("1.3.36.3.3.2.8.1.1.7", false)] // brainpoolP256r1
    public void AnEcKey_IsAcceptable_OnlyOnTheNistCurves(string curveOid, bool acceptable)
    {
        using var ec = ECDsa.Create(ECCurve.CreateFromValue(curveOid));
        using var certificate = SelfSigned(ec);

        Assert.Equal(acceptable, ChainValidator.HasAcceptableKey(certificate));
    }
}
