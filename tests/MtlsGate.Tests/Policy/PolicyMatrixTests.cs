using System.Net;
using System.Security.Cryptography;
using MtlsGate.Configuration;
using MtlsGate.Denials;
using MtlsGate.Policy;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Policy;

/// <summary>The pure decision over identity allow-lists, networks, countries and host binding.</summary>
public sealed class PolicyMatrixTests
{
    private static readonly MtlsGate.Tls.IssueOptions Named = new()
    {
        DnsNames = ["laptop.home.example"],
        Emails = ["alice@example.com"],
        Uris = ["spiffe://home.example/ns/devices/sa/phone"],
    };

    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 Device =
        MtlsGate.Tls.Pki.Issue(TestPki.Instance.Root, "CN=alice-phone, O=Alice Family, OU=Phones", Named);

    private static readonly ClientIdentity Valid = new(Device, DenyReason.None);
    private static readonly ClientIdentity Other = new(TestPki.Instance.Good, DenyReason.None);

    private static IdentityMatcher Matcher(
        string[]? cn = null, string[]? o = null, string[]? ou = null, string[]? dns = null, string[]? emails = null,
        string[]? uris = null, string[]? prefixes = null, string[]? issuers = null, string[]? fingerprints = null, string[]? pins = null) =>
        new(cn ?? [], o ?? [], ou ?? [], dns ?? [], emails ?? [], uris ?? [], prefixes ?? [], issuers ?? [], fingerprints ?? [], pins ?? []);

    private static CompiledPolicy Policy() =>
        new("P", "Default", Requirement.Certificate, EnforcementMode.Enforce);

    private static RequestFacts From(string ip, string method = "GET", string? country = null, bool hostMatches = true) =>
        new(method, IPAddress.Parse(ip), country, hostMatches);

    public static TheoryData<string, IdentityMatcher> MatchingAllowLists()
    {
        var spki = SHA256.HashData(Device.PublicKey.ExportSubjectPublicKeyInfo());
        return new TheoryData<string, IdentityMatcher>
        {
            { "common name", Matcher(cn: ["alice-phone"]) },
            { "organization", Matcher(o: ["Alice Family"]) },
            { "organizational unit", Matcher(ou: ["Phones"]) },
            { "SAN DNS (case-insensitive)", Matcher(dns: ["LAPTOP.home.example"]) },
            { "SAN email", Matcher(emails: ["alice@example.com"]) },
            { "SAN URI", Matcher(uris: ["spiffe://home.example/ns/devices/sa/phone"]) },
            { "SPIFFE prefix", Matcher(prefixes: ["spiffe://home.example/ns/devices/"]) },
            { "issuer", Matcher(issuers: [TestPki.Instance.Root.Subject]) },
            { "fingerprint", Matcher(fingerprints: [Device.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant()]) },
            { "SPKI pin (base64)", Matcher(pins: [Convert.ToBase64String(spki)]) },
            { "SPKI pin (hex)", Matcher(pins: [Convert.ToHexString(spki)]) },
            { "any-of: one miss, one hit", Matcher(cn: ["someone-else"], o: ["Alice Family"]) },
        };
    }

    [Theory]
    [MemberData(nameof(MatchingAllowLists))]
    public void Evaluate_CertificateOnTheAllowList_Allows(string what, IdentityMatcher matcher)
    {
        var policy = Policy() with { Identities = matcher };

        Assert.True(PolicyEvaluator.Evaluate(Valid, From("10.0.0.1"), policy) == Decision.Allow, what);
    }

    [Theory]
    [MemberData(nameof(MatchingAllowLists))]
    public void Evaluate_AnotherValidCertificate_IsIdentityNotAllowed(string what, IdentityMatcher matcher)
    {
        var policy = Policy() with { Identities = matcher };
        if (what == "issuer")
        {
            return; // same issuer: the other certificate legitimately matches
        }

        Assert.Equal(Decision.Deny(DenyReason.IdentityNotAllowed), PolicyEvaluator.Evaluate(Other, From("10.0.0.1"), policy));
    }

    [Fact]
    public void Evaluate_EmptyAllowList_AllowsNobody_ButNoAllowListAllowsAnyValidCertificate()
    {
        Assert.Equal(Decision.Deny(DenyReason.IdentityNotAllowed), PolicyEvaluator.Evaluate(Valid, From("10.0.0.1"), Policy() with { Identities = Matcher() }));
        Assert.Equal(Decision.Allow, PolicyEvaluator.Evaluate(Valid, From("10.0.0.1"), Policy()));
    }

    [Fact]
    public void Evaluate_AllowListNeverRescuesAnInvalidCertificate()
    {
        var expired = new ClientIdentity(Device, DenyReason.Expired);

        Assert.Equal(Decision.Deny(DenyReason.Expired), PolicyEvaluator.Evaluate(expired, From("10.0.0.1"), Policy() with { Identities = Matcher(cn: ["alice-phone"]) }));
    }

    [Theory]
    [InlineData("GET", true)]
    [InlineData("HEAD", true)]
    [InlineData("POST", false)]
    [InlineData("DELETE", false)]
    public void Evaluate_ReadOnlyIdentity_MayOnlyUseItsMethods(string method, bool allowed)
    {
        var policy = Policy() with { MethodRestrictions = [new MethodRestriction(Matcher(cn: ["alice-phone"]), ["GET", "HEAD"])] };

        var decision = PolicyEvaluator.Evaluate(Valid, From("10.0.0.1", method), policy);

        Assert.Equal(allowed ? Decision.Allow : Decision.Deny(DenyReason.MethodNotAllowed), decision);
        Assert.Equal(Decision.Allow, PolicyEvaluator.Evaluate(Other, From("10.0.0.1", method), policy));
    }

    [Theory]
    [InlineData("192.168.1.20", true)]
    [InlineData("::ffff:192.168.1.20", true)]
    [InlineData("203.0.113.9", false)]
    public void Evaluate_BypassNetwork_NeedsNoCertificate_OutsideItDoes(string ip, bool allowed)
    {
        var policy = Policy() with { BypassNetworks = [IPNetwork.Parse("192.168.1.0/24")] };

        var decision = PolicyEvaluator.Evaluate(ClientIdentity.None, From(ip), policy);

        Assert.Equal(allowed ? Decision.Allow : Decision.Deny(DenyReason.NoCertificate), decision);
    }

    [Theory]
    [InlineData("10.1.2.3", DenyReason.None)]
    [InlineData("10.9.9.9", DenyReason.NetworkNotAllowed)]
    [InlineData("172.16.0.1", DenyReason.NetworkNotAllowed)]
    public void Evaluate_AllowAndDenyNetworks_ApplyEvenToValidCertificates(string ip, DenyReason expected)
    {
        var policy = Policy() with { AllowNetworks = [IPNetwork.Parse("10.0.0.0/8")], DenyNetworks = [IPNetwork.Parse("10.9.0.0/16")] };

        Assert.Equal(expected, PolicyEvaluator.Evaluate(Valid, From(ip), policy).Reason);
    }

    [Theory]
    [InlineData("DE", DenyReason.None)]
    [InlineData("FR", DenyReason.CountryNotAllowed)]
    [InlineData(null, DenyReason.CountryUnknown)]
    public void Evaluate_AllowCountries_OnlyThoseCountries_AndUnknownIsItsOwnReason(string? country, DenyReason expected)
    {
        var policy = Policy() with { AllowCountries = ["DE"] };

        Assert.Equal(expected, PolicyEvaluator.Evaluate(Valid, From("10.0.0.1", country: country), policy).Reason);
    }

    [Fact]
    public void Evaluate_DenyCountries_RefusesThatCountryOnly()
    {
        var policy = Policy() with { DenyCountries = ["KP"] };

        Assert.Equal(DenyReason.CountryNotAllowed, PolicyEvaluator.Evaluate(Valid, From("10.0.0.1", country: "KP"), policy).Reason);
        Assert.Equal(DenyReason.None, PolicyEvaluator.Evaluate(Valid, From("10.0.0.1", country: "NZ"), policy).Reason);
    }

    [Fact]
    public void Evaluate_HostMismatch_IsDeniedEvenOnAPublicPolicy_AndAnsweredWith421ByDefault()
    {
        var policy = Policy() with { Require = Requirement.None };

        var decision = PolicyEvaluator.Evaluate(Valid, From("10.0.0.1", hostMatches: false), policy);

        Assert.Equal(Decision.Deny(DenyReason.HostMismatch), decision);
        Assert.Equal(421, DenialResponses.From(PolicyDenials.Default).ResponseFor(DenyReason.HostMismatch).Status);
    }

    [Fact]
    public void Evaluate_LogOnly_TurnsNetworkAndIdentityDenialsIntoWouldDeny()
    {
        var policy = Policy() with { Mode = EnforcementMode.LogOnly, Identities = Matcher(cn: ["nobody"]) };

        Assert.Equal(new Decision(Outcome.WouldDeny, DenyReason.IdentityNotAllowed), PolicyEvaluator.Evaluate(Valid, From("10.0.0.1"), policy));
    }

    [Fact]
    public void CertificateNames_ReadsSubjectAttributesAndSans()
    {
        var names = Valid.Names;

        Assert.Equal(["alice-phone"], names.CommonNames);
        Assert.Equal(["Alice Family"], names.Organizations);
        Assert.Equal(["Phones"], names.OrganizationalUnits);
        Assert.Equal(["laptop.home.example"], names.DnsNames);
        Assert.Equal(["alice@example.com"], names.Emails);
        Assert.Equal(["spiffe://home.example/ns/devices/sa/phone"], names.Uris);
    }
}
