using System.Security.Cryptography;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Text;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Tls;

public sealed class CertificateRevocationListTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    [Fact]
    public void Parse_DerAndPem_ListTheRevokedSerialsAndDates()
    {
        var next = DateTimeOffset.UtcNow.AddDays(3);
        var der = TestPki.Crl(Pki.Root, [Pki.Expired, Pki.NoEku], next, number: 42);
        var pem = PemEncoding.WriteString("X509 CRL", der);

        foreach (var crl in new[] { CertificateRevocationList.Parse(der), CertificateRevocationList.Parse(System.Text.Encoding.ASCII.GetBytes(pem)) })
        {
            Assert.True(crl.IsRevoked(Pki.Expired));
            Assert.True(crl.IsRevoked(Pki.NoEku));
            Assert.False(crl.IsRevoked(Pki.Good));
            Assert.Equal(42, (int)crl.Number!.Value);
            Assert.Equal(next.ToUnixTimeSeconds(), crl.NextUpdate!.Value.ToUnixTimeSeconds());
            Assert.Null(crl.Verify(Pki.Root, DateTimeOffset.UtcNow));
        }
    }

    [Fact]
    public void Verify_CrlSignedByAnotherKeyUnderTheSameName_IsRejected()
    {
        using var sameName = MtlsGate.Tls.Pki.CreateRoot(Pki.Root.Subject);
        var forged = TestPki.Crl(sameName, [Pki.Good]);

        var problem = CertificateRevocationList.Parse(forged).Verify(Pki.Root, DateTimeOffset.UtcNow);

        Assert.Contains("signature", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_CrlOfAnotherIssuer_IsRejected()
    {
        var other = TestPki.Crl(Pki.OtherRoot, [Pki.Good]);

        Assert.Contains("issuer", CertificateRevocationList.Parse(other).Verify(Pki.Root, DateTimeOffset.UtcNow), StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_FlippedSignatureByte_IsRejected()
    {
        var der = TestPki.Crl(Pki.Root, [Pki.Good]);
        der[^5] ^= 0x01;

        var crl = TryParse(der);

        Assert.True(crl is null || crl.Verify(Pki.Root, DateTimeOffset.UtcNow) is not null);
    }

    [Fact]
    public void Verify_ThisUpdateInTheFuture_IsRejected()
    {
        var crl = CertificateRevocationList.Parse(TestPki.Crl(Pki.Root, [], thisUpdate: DateTimeOffset.UtcNow.AddDays(1), nextUpdate: DateTimeOffset.UtcNow.AddDays(8)));

        Assert.Contains("future", crl.Verify(Pki.Root, DateTimeOffset.UtcNow), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(100)]
    public void Parse_TruncatedCrl_Throws(int keep)
    {
        var der = TestPki.Crl(Pki.Root, [Pki.Good]);

        Assert.ThrowsAny<CryptographicException>(() => CertificateRevocationList.Parse(der.AsSpan(0, Math.Min(keep, der.Length - 1))));
    }

    [Fact]
    public void Parse_Garbage_Throws()
    {
        Assert.ThrowsAny<CryptographicException>(() => CertificateRevocationList.Parse("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"u8));
    }

    [Fact]
    public void Validate_WithCrlListingTheLeaf_IsRevoked_AndStaleCrl_IsRevocationUnknownUnlessWithinGrace()
    {
        var crl = CertificateRevocationList.Parse(TestPki.Crl(Pki.Root, [Pki.Expired], DateTimeOffset.UtcNow.AddHours(1)));
        var revocation = new Revocation([new CrlSource(crl, Pki.Root, "test")], [], [], TimeSpan.Zero);
        var store = new TrustStore("Default", [Pki.Root], [Pki.Intermediate], revocation);
        var revokedGood = CertificateRevocationList.Parse(TestPki.Crl(Pki.Root, [Pki.Good]));
        var revokingStore = new TrustStore("Default", [Pki.Root], [], new Revocation([new CrlSource(revokedGood, Pki.Root, "test")], [], [], TimeSpan.Zero));
        var graceStore = new TrustStore("Default", [Pki.Root], [], new Revocation([new CrlSource(crl, Pki.Root, "test")], [], [], TimeSpan.FromHours(2)));

        Assert.Equal(MtlsGate.Policy.DenyReason.Revoked, ChainValidator.Validate(revokingStore, Pki.Good, null, DateTimeOffset.UtcNow));
        Assert.Equal(MtlsGate.Policy.DenyReason.None, ChainValidator.Validate(store, Pki.Good, null, DateTimeOffset.UtcNow));
        Assert.Equal(MtlsGate.Policy.DenyReason.RevocationUnknown, ChainValidator.Validate(store, Pki.Good, null, DateTimeOffset.UtcNow.AddHours(2)));
        Assert.Equal(MtlsGate.Policy.DenyReason.None, ChainValidator.Validate(graceStore, Pki.Good, null, DateTimeOffset.UtcNow.AddHours(2)));
        // A leaf under the intermediate: the intermediate itself is covered by the root's stale CRL.
        Assert.Equal(MtlsGate.Policy.DenyReason.RevocationUnknown, ChainValidator.Validate(store, Pki.GoodViaIntermediate, null, DateTimeOffset.UtcNow.AddHours(2)));
        Assert.Equal(MtlsGate.Policy.DenyReason.None, ChainValidator.Validate(store, Pki.GoodViaIntermediate, null, DateTimeOffset.UtcNow));
    }

    [Fact]
    public void Validate_DenyListedFingerprintOrIssuerAndSerial_IsRevoked()
    {
        var fingerprint = Convert.ToHexStringLower(Pki.Good.GetCertHash(HashAlgorithmName.SHA256));
        var byFingerprint = new TrustStore("Default", [Pki.Root], [], new Revocation([], [fingerprint], [], TimeSpan.Zero));
        var bySerial = new TrustStore("Default", [Pki.Root], [], new Revocation([], [], [(Pki.Good.IssuerName.Name, SerialNumber.Normalize(Pki.Good.SerialNumber))], TimeSpan.Zero));

        Assert.Equal(MtlsGate.Policy.DenyReason.Revoked, ChainValidator.Validate(byFingerprint, Pki.Good, null, DateTimeOffset.UtcNow));
        Assert.Equal(MtlsGate.Policy.DenyReason.Revoked, ChainValidator.Validate(bySerial, Pki.Good, null, DateTimeOffset.UtcNow));
        Assert.Equal(MtlsGate.Policy.DenyReason.None, ChainValidator.Validate(bySerial, Pki.NoEku, null, DateTimeOffset.UtcNow));
    }

    private static CertificateRevocationList? TryParse(byte[] der)
    {
        try
        {
            return CertificateRevocationList.Parse(der);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
