using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tls;

/// <summary>Options for a certificate <see cref="Pki"/> issues.</summary>
public sealed record IssueOptions
{
    public DateTimeOffset? NotBefore { get; init; }
    public DateTimeOffset? NotAfter { get; init; }
    /// <summary>EKU OIDs; null = no EKU extension; empty = an EKU extension with no usage.</summary>
    public IReadOnlyList<string>? ExtendedKeyUsages { get; init; } = [TrustStore.ClientAuthOid];
    public IReadOnlyList<string> DnsNames { get; init; } = [];
    public IReadOnlyList<System.Net.IPAddress> IpAddresses { get; init; } = [];
    public IReadOnlyList<string> Emails { get; init; } = [];
    public IReadOnlyList<string> Uris { get; init; } = [];
    /// <summary>CA:TRUE basic constraints (with an optional path length).</summary>
    public bool IsCertificateAuthority { get; init; }
    public int? PathLength { get; init; }
    /// <summary>Key usage; null picks keyCertSign|cRLSign for CAs, digitalSignature for leaves.</summary>
    public X509KeyUsageFlags? KeyUsage { get; init; }
    /// <summary>Omit the basic constraints extension entirely.</summary>
    public bool OmitBasicConstraints { get; init; }
    public IReadOnlyList<string> CaIssuerUrls { get; init; } = [];
    public IReadOnlyList<string> OcspUrls { get; init; } = [];
    public IReadOnlyList<string> CrlUrls { get; init; } = [];
    /// <summary>Use RSA 2048 instead of ECDSA P-256.</summary>
    public bool Rsa { get; init; }
}

/// <summary>
/// A small certificate authority: generates keys and certificates with <see cref="CertificateRequest"/>.
/// Used by <c>demo</c> and <c>init</c>, and by the tests to make their PKI (no private key is ever committed).
/// </summary>
public static class Pki
{
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    public static X509Certificate2 CreateRoot(string subject, IssueOptions? options = null)
    {
        options ??= new IssueOptions { IsCertificateAuthority = true, ExtendedKeyUsages = null };
        using var key = NewKey(options.Rsa);
        var request = NewRequest(subject, key, options);
        var notBefore = options.NotBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = options.NotAfter ?? notBefore.AddYears(10);
        using var certificate = request.CreateSelfSigned(notBefore, notAfter);
        return Exportable(certificate);
    }

    public static X509Certificate2 Issue(X509Certificate2 issuer, string subject, IssueOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        options ??= new IssueOptions();
        using var key = NewKey(options.Rsa);
        var request = NewRequest(subject, key, options);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var notBefore = options.NotBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = options.NotAfter ?? notBefore.AddDays(options.IsCertificateAuthority ? 3650 : 825);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var unsigned = request.Create(issuer.SubjectName, Signer(issuer), notBefore, notAfter, serial);
        using var withKey = key switch
        {
            ECDsa ec => unsigned.CopyWithPrivateKey(ec),
            RSA rsa => unsigned.CopyWithPrivateKey(rsa),
            _ => throw new NotSupportedException(),
        };
        return Exportable(withKey);
    }

    public static X509SignatureGenerator Signer(X509Certificate2 issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        if (issuer.GetECDsaPrivateKey() is { } ec)
        {
            return X509SignatureGenerator.CreateForECDsa(ec);
        }

        if (issuer.GetRSAPrivateKey() is { } rsa)
        {
            return X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1);
        }

        throw new InvalidOperationException($"The issuer '{issuer.Subject}' has no private key.");
    }

    /// <summary>PEM of the certificate (no key).</summary>
    public static string CertificatePem(X509Certificate2 certificate) =>
        (certificate ?? throw new ArgumentNullException(nameof(certificate))).ExportCertificatePem() + "\n";

    /// <summary>PKCS#8 PEM of the private key.</summary>
    public static string KeyPem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException("No private key.");
        using (key)
        {
            return key.ExportPkcs8PrivateKeyPem() + "\n";
        }
    }

    /// <summary>
    /// A password-protected PKCS#12 holding <paramref name="leaf"/>'s private key and certificates in this
    /// order: the leaf's certificate bag first, then <paramref name="chain"/> as given (intermediates, then the
    /// root). <c>openssl pkcs12 -nodes</c> writes the certificates in bag order, and curl/OpenSSL take the
    /// first certificate of a <c>--cert</c> file as the client certificate, so the leaf must come first.
    /// <see cref="X509Certificate2Collection.ExportPkcs12(Pkcs12ExportPbeParameters, string)"/> does not keep
    /// the collection's order (it wrote the CA first), hence <see cref="Pkcs12Builder"/>.
    /// Encryption: PBES2 AES-256-CBC with SHA-256 (PBKDF2 and MAC), or with <paramref name="compatible"/> the
    /// 3DES/SHA-1 PKCS#12 scheme older Android and iOS importers need; 2000 iterations either way, as .NET's
    /// own <c>Pkcs12ExportPbeParameters</c>. Certificates go in an encrypted safe, the key in a shrouded key bag,
    /// both tagged with the same localKeyId (the leaf's SHA-1 hash, as OpenSSL does).
    /// </summary>
    public static byte[] ExportPkcs12(X509Certificate2 leaf, IEnumerable<X509Certificate2> chain, string password, bool compatible)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(password);
        const int Iterations = 2000;
        var pbe = compatible
            ? new PbeParameters(PbeEncryptionAlgorithm.TripleDes3KeyPkcs12, HashAlgorithmName.SHA1, Iterations)
            : new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, Iterations);
        var localKeyId = leaf.GetCertHash();

        var certificates = new Pkcs12SafeContents();
        certificates.AddCertificate(leaf).Attributes.Add(new Pkcs9LocalKeyId(localKeyId));
        foreach (var certificate in chain)
        {
            certificates.AddCertificate(certificate);
        }

        var keys = new Pkcs12SafeContents();
        using (AsymmetricAlgorithm key = (AsymmetricAlgorithm?)leaf.GetECDsaPrivateKey() ?? leaf.GetRSAPrivateKey()
                                         ?? throw new InvalidOperationException($"The certificate '{leaf.Subject}' has no private key."))
        {
            keys.AddShroudedKey(key, password, pbe).Attributes.Add(new Pkcs9LocalKeyId(localKeyId));
        }

        var builder = new Pkcs12Builder();
        builder.AddSafeContentsEncrypted(certificates, password, pbe);
        builder.AddSafeContentsUnencrypted(keys);
        builder.SealWithMac(password, pbe.HashAlgorithm, Iterations);
        return builder.Encode();
    }

    private static AsymmetricAlgorithm NewKey(bool rsa) => rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static CertificateRequest NewRequest(string subject, AsymmetricAlgorithm key, IssueOptions options)
    {
        var request = key switch
        {
            ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
            RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => throw new NotSupportedException(),
        };
        if (!options.OmitBasicConstraints)
        {
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
                options.IsCertificateAuthority, options.PathLength is not null, options.PathLength ?? 0, critical: true));
        }

        var usage = options.KeyUsage ?? (options.IsCertificateAuthority
            ? X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature
            : X509KeyUsageFlags.DigitalSignature | (options.Rsa ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.KeyAgreement));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        if (options.ExtendedKeyUsages is { } ekus)
        {
            var collection = new OidCollection();
            foreach (var oid in ekus)
            {
                collection.Add(new Oid(oid));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(collection, critical: false));
        }

        if (options.DnsNames.Count + options.IpAddresses.Count + options.Emails.Count + options.Uris.Count > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var dns in options.DnsNames)
            {
                san.AddDnsName(dns);
            }

            foreach (var ip in options.IpAddresses)
            {
                san.AddIpAddress(ip);
            }

            foreach (var email in options.Emails)
            {
                san.AddEmailAddress(email);
            }

            foreach (var uri in options.Uris)
            {
                san.AddUri(new Uri(uri));
            }

            request.CertificateExtensions.Add(san.Build());
        }

        if (options.CaIssuerUrls.Count + options.OcspUrls.Count > 0)
        {
            request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(options.OcspUrls, options.CaIssuerUrls));
        }

        if (options.CrlUrls.Count > 0)
        {
            request.CertificateExtensions.Add(CertificateRevocationListBuilder.BuildCrlDistributionPointExtension(options.CrlUrls));
        }

        return request;
    }

    // Ephemeral keys from CreateSelfSigned/CopyWithPrivateKey cannot always be used for TLS on every
    // platform; a PKCS#12 round trip gives a normal, exportable key.
    private static X509Certificate2 Exportable(X509Certificate2 certificate) =>
        X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
}
