using MtlsGate.Text;

using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Policy;

/// <summary>
/// What the gateway knows about the client certificate of one connection: computed once per
/// connection (at the handshake), immutable afterwards, read by every request on that connection.
/// </summary>
public sealed class ClientIdentity
{
    /// <summary>The identity of a connection that presented no certificate.</summary>
    public static readonly ClientIdentity None = new(null, DenyReason.NoCertificate);

    /// <param name="certificate">The presented leaf, or null.</param>
    /// <param name="chainVerdict">The chain verdict at the time it was judged.</param>
    /// <param name="validUntil">
    /// The first instant the verdict no longer holds (the chain's earliest notAfter, a covering CRL's
    /// nextUpdate + grace). Default: the leaf's own notAfter for a valid verdict; a refusal holds for good.
    /// </param>
    public ClientIdentity(X509Certificate2? certificate, DenyReason chainVerdict, DateTimeOffset? validUntil = null)
    {
        Certificate = certificate;
        // Without a certificate the verdict is NoCertificate, except for a forwarded one that could not be read.
        ChainVerdict = certificate is null && chainVerdict != DenyReason.ForwardedCertificateInvalid ? DenyReason.NoCertificate : chainVerdict;
        ValidUntil = DateTimeOffset.MaxValue;
        if (certificate is not null)
        {
            Subject = certificate.Subject;
            Issuer = certificate.Issuer;
            Sha256Fingerprint = Fingerprint.Sha256(certificate);
            NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            if (ChainVerdict == DenyReason.None)
            {
                ValidUntil = validUntil ?? NotAfter;
            }
        }

        ValidUntilTicks = ValidUntil.UtcTicks;
    }

    /// <summary>The presented leaf certificate, or null.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>The <see cref="Source"/> of a certificate presented on the TLS connection to the gateway itself.</summary>
    public const string Direct = "direct";

    /// <summary>
    /// Where the certificate came from: <see cref="Direct"/> (this TLS connection), or the name of the
    /// authenticated edge (<c>MtlsGate:Edges:NAME</c>) that forwarded it. Carried to the access log,
    /// metrics and identity headers.
    /// </summary>
    public string Source { get; init; } = Direct;

    /// <summary>Whether the certificate was forwarded by an edge (judged by the same validator).</summary>
    public bool IsForwarded => !ReferenceEquals(Source, Direct) && Source != Direct;

    /// <summary>The intermediates an edge forwarded with the leaf (RFC 9440 Client-Cert-Chain), or null.</summary>
    public X509Certificate2Collection? ForwardedChain { get; init; }

    /// <summary><see cref="DenyReason.None"/> when the chain is valid against the trust store, else why not.</summary>
    public DenyReason ChainVerdict { get; }

    public bool IsValid => ChainVerdict == DenyReason.None;

    /// <summary>Subject DN as .NET renders it (may contain any character: encode before use in headers).</summary>
    public string Subject { get; } = "";

    public string Issuer { get; } = "";

    /// <summary>Lower-case hex SHA-256 of the DER certificate.</summary>
    public string Sha256Fingerprint { get; } = "";

    public DateTimeOffset NotAfter { get; }

    /// <summary>
    /// Until when <see cref="ChainVerdict"/> holds: a connection re-judges its identity on the first
    /// request at or after this instant (a certificate or a CRL can expire while the connection stays
    /// open). <see cref="DateTimeOffset.MaxValue"/> for a refusal or no certificate.
    /// </summary>
    public DateTimeOffset ValidUntil { get; }

    /// <summary><see cref="ValidUntil"/> in UTC ticks: the per-request check is one integer comparison.</summary>
    public long ValidUntilTicks { get; }

    private string? _encodedSubject;

    /// <summary>The subject made safe for a log line or header (encoded once per identity, not per request); "-" without a certificate.</summary>
    public string EncodedSubject => _encodedSubject ??= Certificate is null ? "-" : HeaderEncoding.Encode(Subject);

    private CertificateNames? _names;

    /// <summary>Subject attributes and SANs, parsed on first use (only policies with identity rules need them).</summary>
    public CertificateNames Names => _names ??= Certificate is null ? CertificateNames.Empty : CertificateNames.From(Certificate);
}

/// <summary>The names in a certificate an identity allow-list can match.</summary>
public sealed record CertificateNames(
    IReadOnlyList<string> CommonNames,
    IReadOnlyList<string> Organizations,
    IReadOnlyList<string> OrganizationalUnits,
    IReadOnlyList<string> DnsNames,
    IReadOnlyList<string> Emails,
    IReadOnlyList<string> Uris,
    string SpkiSha256Base64,
    string SpkiSha256Hex,
    string SerialHex)
{
    public static readonly CertificateNames Empty = new([], [], [], [], [], [], "", "", "");

    public static CertificateNames From(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var cn = new List<string>();
        var o = new List<string>();
        var ou = new List<string>();
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            var value = rdn.GetSingleElementValue();
            if (value is null)
            {
                continue;
            }

            switch (rdn.GetSingleElementType().Value)
            {
                case "2.5.4.3": cn.Add(value); break;
                case "2.5.4.10": o.Add(value); break;
                case "2.5.4.11": ou.Add(value); break;
            }
        }

        var dns = new List<string>();
        var emails = new List<string>();
        var uris = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                dns.AddRange(san.EnumerateDnsNames());
                ReadEmailsAndUris(san.RawData, emails, uris);
            }
        }

        var spki = System.Security.Cryptography.SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
        return new CertificateNames(cn, o, ou, dns, emails, uris, Convert.ToBase64String(spki), Convert.ToHexStringLower(spki),
            SerialNumber.Normalize(certificate.SerialNumberBytes.Span));
    }

    private static void ReadEmailsAndUris(byte[] raw, List<string> emails, List<string> uris)
    {
        try
        {
            var names = new System.Formats.Asn1.AsnReader(raw, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag.TagClass == System.Formats.Asn1.TagClass.ContextSpecific && tag.TagValue is 1 or 6 && !tag.IsConstructed)
                {
                    var value = names.ReadCharacterString(System.Formats.Asn1.UniversalTagNumber.IA5String, tag);
                    (tag.TagValue == 1 ? emails : uris).Add(value);
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        catch (System.Formats.Asn1.AsnContentException)
        {
            // A malformed SAN yields no names: allow-lists then simply do not match (fail closed).
        }
    }
}
