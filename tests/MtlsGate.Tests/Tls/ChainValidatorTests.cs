using System.Security.Cryptography.X509Certificates;
using MtlsGate.Policy;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Tls;

public sealed class ChainValidatorTests
{
    private static readonly TestPki Pki = TestPki.Instance;
    private static readonly TrustStore Store = new("Default", [Pki.Root], [Pki.Intermediate]);

    public static TheoryData<string, DenyReason> Cases => new()
    {
        { nameof(TestPki.Good), DenyReason.None },
        { nameof(TestPki.GoodViaIntermediate), DenyReason.None },
        { nameof(TestPki.NoEku), DenyReason.None },
        { nameof(TestPki.OtherRootLeaf), DenyReason.Untrusted },
        { nameof(TestPki.Impostor), DenyReason.Untrusted },
        { nameof(TestPki.ViaUnknownIntermediate), DenyReason.Untrusted },
        { nameof(TestPki.Expired), DenyReason.Expired },
        { nameof(TestPki.NotYetValid), DenyReason.NotYetValid },
        { nameof(TestPki.ServerAuthOnly), DenyReason.WrongUsage },
        { nameof(TestPki.EmptyEku), DenyReason.WrongUsage },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_LeafFromTheTestPki_GivesTheExpectedVerdict(string leaf, DenyReason expected)
    {
        var certificate = Leaf(leaf);

        Assert.Equal(expected, ChainValidator.Validate(Store, certificate, null, DateTimeOffset.UtcNow));
    }

    [Fact]
    public void Validate_UnknownIntermediatePresentedByTheClient_IsUsedAndAccepted()
    {
        var verdict = ChainValidator.Validate(Store, Pki.ViaUnknownIntermediate, [Pki.UnknownIntermediate], DateTimeOffset.UtcNow);

        Assert.Equal(DenyReason.None, verdict);
    }

    [Fact]
    public void Validate_ImpostorRootPresentedAsIntermediate_StaysUntrusted()
    {
        var verdict = ChainValidator.Validate(Store, Pki.Impostor, [Pki.Impostor], DateTimeOffset.UtcNow);

        Assert.Equal(DenyReason.Untrusted, verdict);
    }

    public static TheoryData<string, string> BrokenIntermediates => new()
    {
        { nameof(TestPki.ViaNotCaIntermediate), nameof(TestPki.NotCaIntermediate) },
        { nameof(TestPki.ViaNoKeyCertSign), nameof(TestPki.NoKeyCertSignIntermediate) },
    };

    [Theory]
    [MemberData(nameof(BrokenIntermediates))]
    public void Validate_IntermediateThatMayNotIssue_IsDenied(string leaf, string intermediate)
    {
        var verdict = ChainValidator.Validate(Store, Leaf(leaf), [Leaf(intermediate)], DateTimeOffset.UtcNow);

        Assert.NotEqual(DenyReason.None, verdict);
        Assert.Contains(verdict, new[] { DenyReason.InvalidChain, DenyReason.Untrusted });
    }

    [Fact]
    public void Validate_PathLengthViolated_IsDenied()
    {
        var verdict = ChainValidator.Validate(Store, Pki.ViaPathLenViolation, [Pki.BelowPathLenZero, Pki.PathLenZeroIntermediate], DateTimeOffset.UtcNow);

        Assert.NotEqual(DenyReason.None, verdict);
        Assert.Contains(verdict, new[] { DenyReason.InvalidChain, DenyReason.Untrusted });
    }

    [Fact]
    public void Validate_ExpiredIntermediate_IsExpired()
    {
        var verdict = ChainValidator.Validate(Store, Pki.ViaExpiredIntermediate, [Pki.ExpiredIntermediate], DateTimeOffset.UtcNow);

        Assert.Equal(DenyReason.Expired, verdict);
    }

    [Fact]
    public void Validate_OneSecondBeforeNotAfter_IsValid_AndAtTheExactNotAfterSecond_IsExpired()
    {
        var notAfter = new DateTimeOffset(Pki.Good.NotAfter.ToUniversalTime(), TimeSpan.Zero);

        Assert.Equal(DenyReason.None, ChainValidator.Validate(Store, Pki.Good, null, notAfter.AddSeconds(-1)));
        Assert.Equal(DenyReason.Expired, ChainValidator.Validate(Store, Pki.Good, null, notAfter));
        Assert.Equal(DenyReason.Expired, ChainValidator.Validate(Store, Pki.Good, null, notAfter.AddSeconds(1)));
    }

    [Fact]
    public void Validate_AtTheExactNotBeforeSecond_IsValid_AndOneSecondEarlier_IsNotYetValid()
    {
        var notBefore = new DateTimeOffset(Pki.Good.NotBefore.ToUniversalTime(), TimeSpan.Zero);

        Assert.Equal(DenyReason.None, ChainValidator.Validate(Store, Pki.Good, null, notBefore));
        Assert.Equal(DenyReason.NotYetValid, ChainValidator.Validate(Store, Pki.Good, null, notBefore.AddSeconds(-1)));
    }

    [Fact]
    public void Validate_TrustStoreWithoutTheIssuingRoot_IsUntrusted()
    {
        var other = new TrustStore("Other", [Pki.OtherRoot], []);

        Assert.Equal(DenyReason.Untrusted, ChainValidator.Validate(other, Pki.Good, null, DateTimeOffset.UtcNow));
    }

    [Fact]
    public void ChainPolicy_NeverUsesTheSystemStoreOrTheNetwork()
    {
        var policy = Store.ChainPolicy;

        Assert.Equal(X509ChainTrustMode.CustomRootTrust, policy.TrustMode);
        Assert.True(policy.DisableCertificateDownloads);
        Assert.Equal(X509RevocationMode.NoCheck, policy.RevocationMode);
        Assert.Contains(policy.ApplicationPolicy.Cast<System.Security.Cryptography.Oid>(), o => o.Value == TrustStore.ClientAuthOid);
    }

    [Fact]
    public void LeafUsageIsClientAuth_NoEkuExtension_IsAccepted_ByTheStatedRule()
    {
        Assert.True(ChainValidator.LeafUsageIsClientAuth(Pki.NoEku));
        Assert.False(ChainValidator.LeafUsageIsClientAuth(Pki.EmptyEku));
        Assert.False(ChainValidator.LeafUsageIsClientAuth(Pki.ServerAuthOnly));
    }

    private static X509Certificate2 Leaf(string name) =>
        (X509Certificate2)typeof(TestPki).GetProperty(name)!.GetValue(Pki)!;

    [Theory]
    [InlineData("alice@example.com", true)]
    [InlineData("a.b+tag@mail.example.org", true)]
    [InlineData("invalid@address@example.com", false)]
    [InlineData("@example.com", false)]
    [InlineData("alice@", false)]
    [InlineData("alice@-bad-.example", false)]
    [InlineData("ali ce@example.com", false)]
    public void IsMailbox_AcceptsOnlyWellFormedAddresses(string email, bool expected) =>
        Assert.Equal(expected, ChainValidator.IsMailbox(email));
}
