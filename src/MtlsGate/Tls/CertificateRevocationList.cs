using System.Collections.Frozen;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using MtlsGate.Text;
using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tls;

/// <summary>
/// A parsed X.509 CRL (RFC 5280 §5). <see cref="CertificateRevocationListBuilder.Load(byte[], out BigInteger)"/>
/// verifies neither signature nor dates, so the gateway parses and verifies CRLs itself:
/// <see cref="Verify"/> checks the signature with the issuing CA's key, the issuer name and the dates.
/// </summary>
public sealed class CertificateRevocationList
{
    private readonly byte[] _tbs;
    private readonly byte[] _signature;
    private readonly string _signatureAlgorithm;

    private CertificateRevocationList(byte[] tbs, string signatureAlgorithm, byte[] signature, X500DistinguishedName issuer,
        DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate, FrozenSet<string> revokedSerials, BigInteger? number, string sha256)
    {
        Sha256 = sha256;
        _tbs = tbs;
        _signatureAlgorithm = signatureAlgorithm;
        _signature = signature;
        Issuer = issuer;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        RevokedSerials = revokedSerials;
        Number = number;
    }

    public X500DistinguishedName Issuer { get; }

    public DateTimeOffset ThisUpdate { get; }

    public DateTimeOffset? NextUpdate { get; }

    /// <summary>Revoked serial numbers, upper-case hex without leading zero bytes (see SerialNumber.Normalize).</summary>
    public FrozenSet<string> RevokedSerials { get; }

    public BigInteger? Number { get; }

    /// <summary>Lower-case hex SHA-256 of the DER encoding (the same for its PEM form): "the same CRL" means the same hash.</summary>
    public string Sha256 { get; }

    /// <summary>Parses a DER or PEM (<c>-----BEGIN X509 CRL-----</c>) CRL. Throws <see cref="CryptographicException"/> on anything malformed.</summary>
    public static CertificateRevocationList Parse(ReadOnlySpan<byte> data) => Parse(data.ToArray());

    /// <summary>Parses a DER or PEM CRL held in <paramref name="data"/> without copying it.</summary>
    public static CertificateRevocationList Parse(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var der = data;
        var text = Encoding.ASCII.GetString(der.AsSpan(0, Math.Min(der.Length, 64)));
        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            var pem = Encoding.ASCII.GetString(der);
            if (!PemEncoding.TryFind(pem, out var fields) || pem[fields.Label] != "X509 CRL")
            {
                throw new CryptographicException("No '-----BEGIN X509 CRL-----' block found.");
            }

            der = Convert.FromBase64String(pem[fields.Base64Data]);
        }

        try
        {
            return ParseDer(der);
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException($"Malformed CRL: {ex.Message}", ex);
        }
    }

    private static CertificateRevocationList ParseDer(byte[] der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var certificateList = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        var tbsBytes = certificateList.ReadEncodedValue().ToArray();
        var outerAlgorithm = ReadAlgorithm(certificateList);
        var signature = certificateList.ReadBitString(out var unused);
        certificateList.ThrowIfNotEmpty();
        if (unused != 0)
        {
            throw new CryptographicException("Malformed CRL: signature has unused bits.");
        }

        var tbs = new AsnReader(tbsBytes, AsnEncodingRules.DER).ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            tbs.ReadInteger();
        }

        var innerAlgorithm = ReadAlgorithm(tbs);
        if (innerAlgorithm != outerAlgorithm)
        {
            throw new CryptographicException("Malformed CRL: inner and outer signature algorithms differ.");
        }

        var issuer = new X500DistinguishedName(tbs.ReadEncodedValue().Span);
        var thisUpdate = ReadTime(tbs);
        DateTimeOffset? nextUpdate = null;
        if (tbs.HasData && IsTime(tbs.PeekTag()))
        {
            nextUpdate = ReadTime(tbs);
        }

        var serials = new HashSet<string>(StringComparer.Ordinal);
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            var revoked = tbs.ReadSequence();
            while (revoked.HasData)
            {
                var entry = revoked.ReadSequence();
                serials.Add(SerialNumber.Normalize(entry.ReadIntegerBytes().Span));
                ReadTime(entry);
            }
        }

        BigInteger? number = null;
        var extensionsTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(extensionsTag))
        {
            var extensions = tbs.ReadSequence(extensionsTag).ReadSequence();
            while (extensions.HasData)
            {
                var extension = extensions.ReadSequence();
                var oid = extension.ReadObjectIdentifier();
                var critical = extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && extension.ReadBoolean();
                var value = extension.ReadOctetString();
                if (oid == "2.5.29.20")
                {
                    if (critical)
                    {
                        throw new CryptographicException("CRL number extension is marked critical (RFC 5280 5.2.3: it MUST NOT be).");
                    }

                    number = new AsnReader(value, AsnEncodingRules.DER).ReadInteger();
                }
                else if (critical && oid is not "2.5.29.35" and not "2.5.29.28")
                {
                    // An unknown critical extension (e.g. delta CRL indicator): not understood, not used.
                    throw new CryptographicException($"CRL carries an unsupported critical extension {oid}.");
                }
            }
        }

        tbs.ThrowIfNotEmpty();
        return new CertificateRevocationList(tbsBytes, outerAlgorithm, signature, issuer, thisUpdate, nextUpdate, serials.ToFrozenSet(StringComparer.Ordinal), number,
            Convert.ToHexStringLower(SHA256.HashData(der)));
    }

    /// <summary>
    /// Verifies the CRL against its supposed issuer: issuer name, signature with the issuer's key,
    /// and that <c>thisUpdate</c> is not in the future. Returns null when valid, else why not.
    /// (Staleness — past <c>nextUpdate</c> — is not a verification failure: the caller decides.)
    /// </summary>
    public string? Verify(X509Certificate2 issuer, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        if (!issuer.SubjectName.RawData.AsSpan().SequenceEqual(Issuer.RawData))
        {
            return $"issuer '{Issuer.Name}' is not the CA '{issuer.Subject}'";
        }

        if (issuer.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage && (usage.KeyUsages & X509KeyUsageFlags.CrlSign) == 0)
        {
            return $"the CA '{issuer.Subject}' has a key usage without cRLSign (RFC 5280 6.3.3)";
        }

        if (Number is null)
        {
            return "it has no CRL number (RFC 5280 5.2.3: conforming CRL issuers MUST include it)";
        }

        if (!SignatureIsValid(issuer))
        {
            return $"signature does not verify with the key of '{issuer.Subject}'";
        }

        if (ThisUpdate > now.AddMinutes(5))
        {
            return $"thisUpdate {ThisUpdate:u} is in the future";
        }

        return null;
    }

    public bool IsRevoked(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return RevokedSerials.Contains(SerialNumber.Normalize(certificate.SerialNumberBytes.Span));
    }

    private bool SignatureIsValid(X509Certificate2 issuer)
    {
        HashAlgorithmName? hash = _signatureAlgorithm switch
        {
            "1.2.840.10045.4.3.2" or "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
            "1.2.840.10045.4.3.3" or "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
            "1.2.840.10045.4.3.4" or "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
            _ => null,
        };
        if (hash is null)
        {
            return false;
        }

        if (_signatureAlgorithm.StartsWith("1.2.840.10045", StringComparison.Ordinal))
        {
            using var ec = issuer.GetECDsaPublicKey();
            return ec is not null && ec.VerifyData(_tbs, _signature, hash.Value, DSASignatureFormat.Rfc3279DerSequence);
        }

        using var rsa = issuer.GetRSAPublicKey();
        return rsa is not null && rsa.VerifyData(_tbs, _signature, hash.Value, RSASignaturePadding.Pkcs1);
    }

    private static string ReadAlgorithm(AsnReader reader)
    {
        var sequence = reader.ReadSequence();
        var oid = sequence.ReadObjectIdentifier();
        if (sequence.HasData)
        {
            sequence.ReadEncodedValue(); // parameters (NULL for RSA)
        }

        sequence.ThrowIfNotEmpty();
        return oid;
    }

    private static bool IsTime(Asn1Tag tag) =>
        tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();
}
