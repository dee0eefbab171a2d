using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tls;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// The test PKI, generated in-test (no key is committed): a root and an intermediate the gateway
/// trusts, another root it does not, and leaves for every case of SECURITY.md.
/// <see cref="Instance"/> is shared by the in-process tests; <see cref="Create"/> makes a fresh one with its
/// own keys for a fixture that writes them to files for another process (the published binary, curl).
/// </summary>
public sealed class TestPki : IDisposable
{
    private static readonly Lazy<TestPki> Shared = new(() => new TestPki(shared: true));

    private readonly bool _shared;

    /// <summary>The PKI shared by every test in the process; never disposed.</summary>
    public static TestPki Instance => Shared.Value;

    /// <summary>A fresh PKI (new keys) owned by the caller, who disposes it.</summary>
    public static TestPki Create() => new(shared: false);

    public DateTimeOffset Now { get; } = DateTimeOffset.UtcNow;

    public X509Certificate2 Root { get; }
    public X509Certificate2 Intermediate { get; }
    public X509Certificate2 OtherRoot { get; }
    public X509Certificate2 ServerLeaf { get; }

    public X509Certificate2 Good { get; }
    public X509Certificate2 GoodViaIntermediate { get; }
    public X509Certificate2 OtherRootLeaf { get; }
    public X509Certificate2 Expired { get; }
    public X509Certificate2 NotYetValid { get; }
    public X509Certificate2 ServerAuthOnly { get; }
    public X509Certificate2 NoEku { get; }
    public X509Certificate2 EmptyEku { get; }
    public X509Certificate2 Impostor { get; }

    /// <summary>An intermediate (signed by <see cref="Root"/>) the gateway's bundle does not hold.</summary>
    public X509Certificate2 UnknownIntermediate { get; }
    public X509Certificate2 ViaUnknownIntermediate { get; }

    /// <summary>
    /// Another leaf of <see cref="UnknownIntermediate"/>, for tests whose client presents that intermediate.
    /// The gateway remembers, process-wide, the intermediates a leaf was presented with (a hint for its
    /// resumed sessions, Tls/ResumedSessionIntermediates): <see cref="ViaUnknownIntermediate"/> is never
    /// presented with it, so its "not presented: 404" case holds whatever ran before.
    /// </summary>
    public X509Certificate2 ViaUnknownIntermediatePresented { get; }

    public X509Certificate2 NotCaIntermediate { get; }
    public X509Certificate2 ViaNotCaIntermediate { get; }
    public X509Certificate2 PathLenZeroIntermediate { get; }
    public X509Certificate2 BelowPathLenZero { get; }
    public X509Certificate2 ViaPathLenViolation { get; }
    public X509Certificate2 NoKeyCertSignIntermediate { get; }
    public X509Certificate2 ViaNoKeyCertSign { get; }
    public X509Certificate2 ExpiredIntermediate { get; }
    public X509Certificate2 ViaExpiredIntermediate { get; }

    /// <summary>A valid leaf whose subject holds CR/LF, quotes, separators, UTF-8 and a forged header.</summary>
    public X509Certificate2 NastySubject { get; }

    public const string NastyCommonName = "evil\r\nX-Injected: yes\r\n\"quoted\";a=b,c=d é ✓ \u0000";

    private TestPki(bool shared)
    {
        _shared = shared;
        Root = Pki.CreateRoot("CN=MtlsGate Test Root, O=MtlsGate tests");
        Intermediate = Pki.Issue(Root, "CN=MtlsGate Test Intermediate", Ca());
        OtherRoot = Pki.CreateRoot("CN=Some Other Root");
        ServerLeaf = IssueServer(Root);

        Good = Pki.Issue(Root, "CN=good-device, O=Home");
        GoodViaIntermediate = Pki.Issue(Intermediate, "CN=good-via-intermediate");
        OtherRootLeaf = Pki.Issue(OtherRoot, "CN=other-root-device");
        Expired = Pki.Issue(Root, "CN=expired", new IssueOptions { NotBefore = Now.AddDays(-30), NotAfter = Now.AddDays(-1) });
        NotYetValid = Pki.Issue(Root, "CN=not-yet-valid", new IssueOptions { NotBefore = Now.AddDays(1), NotAfter = Now.AddDays(30) });
        ServerAuthOnly = Pki.Issue(Root, "CN=server-auth-only", new IssueOptions { ExtendedKeyUsages = [Pki.ServerAuthOid] });
        NoEku = Pki.Issue(Root, "CN=no-eku", new IssueOptions { ExtendedKeyUsages = null });
        EmptyEku = Pki.Issue(Root, "CN=empty-eku", new IssueOptions { ExtendedKeyUsages = [] });
        Impostor = CreateImpostor(Root);

        UnknownIntermediate = Pki.Issue(Root, "CN=Unknown Intermediate", Ca());
        ViaUnknownIntermediate = Pki.Issue(UnknownIntermediate, "CN=via-unknown-intermediate");
        ViaUnknownIntermediatePresented = Pki.Issue(UnknownIntermediate, "CN=via-unknown-intermediate-presented");

        NotCaIntermediate = Pki.Issue(Root, "CN=Not A CA", new IssueOptions
        {
            IsCertificateAuthority = false,
            ExtendedKeyUsages = null,
            KeyUsage = X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature,
        });
        ViaNotCaIntermediate = Pki.Issue(NotCaIntermediate, "CN=via-not-ca");
        PathLenZeroIntermediate = Pki.Issue(Root, "CN=PathLen Zero", Ca() with { PathLength = 0 });
        BelowPathLenZero = Pki.Issue(PathLenZeroIntermediate, "CN=Below PathLen Zero", Ca());
        ViaPathLenViolation = Pki.Issue(BelowPathLenZero, "CN=via-pathlen-violation");
        NoKeyCertSignIntermediate = Pki.Issue(Root, "CN=No KeyCertSign", Ca() with { KeyUsage = X509KeyUsageFlags.DigitalSignature });
        ViaNoKeyCertSign = Pki.Issue(NoKeyCertSignIntermediate, "CN=via-no-keycertsign");
        ExpiredIntermediate = Pki.Issue(Root, "CN=Expired Intermediate", Ca() with { NotBefore = Now.AddDays(-60), NotAfter = Now.AddDays(-2) });
        ViaExpiredIntermediate = Pki.Issue(ExpiredIntermediate, "CN=via-expired-intermediate", new IssueOptions { NotBefore = Now.AddDays(-30), NotAfter = Now.AddDays(30) });

        var nasty = new X500DistinguishedNameBuilder();
        nasty.AddCommonName(NastyCommonName);
        nasty.AddOrganizationName("O=\"x\", CN=admin");
        NastySubject = IssueWithName(Root, nasty.Build());
    }

    /// <summary>A server certificate for <c>localhost</c>, 127.0.0.1 and ::1 issued by <paramref name="issuer"/>.</summary>
    public static X509Certificate2 IssueServer(X509Certificate2 issuer) =>
        Pki.Issue(issuer, "CN=localhost", new IssueOptions
        {
            ExtendedKeyUsages = [Pki.ServerAuthOid],
            DnsNames = ["localhost"],
            IpAddresses = [IPAddress.Loopback, IPAddress.IPv6Loopback],
        });

    /// <summary>The SHA-256 fingerprint as the gateway forwards it: lowercase hex of the DER.</summary>
    public static string Fingerprint(X509Certificate2 certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    /// <summary>Disposes every certificate of a PKI from <see cref="Create"/>; does nothing for <see cref="Instance"/>.</summary>
    public void Dispose()
    {
        if (_shared)
        {
            return;
        }

        foreach (var certificate in new[]
        {
            Root, Intermediate, OtherRoot, ServerLeaf, Good, GoodViaIntermediate, OtherRootLeaf, Expired, NotYetValid,
            ServerAuthOnly, NoEku, EmptyEku, Impostor, UnknownIntermediate, ViaUnknownIntermediate, ViaUnknownIntermediatePresented, NotCaIntermediate,
            ViaNotCaIntermediate, PathLenZeroIntermediate, BelowPathLenZero, ViaPathLenViolation, NoKeyCertSignIntermediate,
            ViaNoKeyCertSign, ExpiredIntermediate, ViaExpiredIntermediate, NastySubject,
        })
        {
            certificate.Dispose();
        }
    }

    /// <summary>A CRL signed by <paramref name="issuer"/> listing <paramref name="revoked"/> (DER).</summary>
    public static byte[] Crl(X509Certificate2 issuer, IEnumerable<X509Certificate2> revoked, DateTimeOffset? nextUpdate = null, long number = 1, DateTimeOffset? thisUpdate = null)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
        {
            builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-1));
        }

        return builder.Build(issuer, number, nextUpdate ?? DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256, thisUpdate: thisUpdate ?? DateTimeOffset.UtcNow.AddMinutes(-1));
    }

    /// <summary>PEM bundle of the CAs the gateway trusts: the root and the intermediate.</summary>
    public string CaBundlePem => Pki.CertificatePem(Root) + Pki.CertificatePem(Intermediate);

    public static IssueOptions Ca() => new() { IsCertificateAuthority = true, ExtendedKeyUsages = null };

    /// <summary>A leaf whose AIA (caIssuers, OCSP) and CRL distribution point name <paramref name="baseUrl"/>.</summary>
    public static X509Certificate2 WithNetworkPointers(X509Certificate2 issuer, string baseUrl) =>
        Pki.Issue(issuer, "CN=points-at-network", new IssueOptions
        {
            CaIssuerUrls = [baseUrl + "ca.cer"],
            OcspUrls = [baseUrl + "ocsp"],
            CrlUrls = [baseUrl + "ca.crl"],
        });

    /// <summary>A self-signed CA copying the root's subject and subject key identifier, with its own key.</summary>
    private static X509Certificate2 CreateImpostor(X509Certificate2 root)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(root.SubjectName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature, true));
        var ski = root.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single();
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(ski.SubjectKeyIdentifier!, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(TrustStore.ClientAuthOid)], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    private static X509Certificate2 IssueWithName(X509Certificate2 issuer, X500DistinguishedName name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(TrustStore.ClientAuthOid)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using var unsigned = request.Create(issuer.SubjectName, Pki.Signer(issuer), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30), serial);
        using var withKey = unsigned.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }
}
