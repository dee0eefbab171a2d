using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Policy;

namespace MtlsGate.Tls;

/// <summary>
/// Certificate-chain validation against a <see cref="TrustStore"/>. The gateway (at the TLS
/// handshake), the CLI and the conformance tests all run this code.
/// </summary>
/// <remarks>
/// Rules, in the order a verdict is chosen:
/// <list type="number">
/// <item>the chain must end at a root of the trust store, every signature valid (else <c>Untrusted</c>);</item>
/// <item>every CA must satisfy basic constraints, path length and keyCertSign, and no unknown critical
/// extension may appear (else <c>InvalidChain</c>);</item>
/// <item>every certificate of the chain must be inside its validity period,
/// <c>notBefore ≤ t &lt; notAfter</c> (else <c>NotYetValid</c>/<c>Expired</c>). RFC 5280 §4.1.2.5 reads
/// notAfter as inclusive; OpenSSL, which builds the chain on Linux (and in nginx and HAProxy), treats
/// it as exclusive. We follow the platform so the handshake and every other path agree, which fails
/// closed by one second;</item>
/// <item>no certificate of the chain may be on a deny-list or in its issuer's CRL (else <c>Revoked</c>), and
/// the issuer's CRL, if it has one, must not be past nextUpdate plus the grace (else <c>RevocationUnknown</c>);</item>
/// <item>every key of the chain must be RSA ≥ 2048 bits (a multiple of 8) or ECDSA on P-256/384/521
/// (else <c>InvalidChain</c>);</item>
/// <item>under a CA with name constraints, every email SAN of the leaf must be a well-formed mailbox
/// (else <c>InvalidChain</c>; OpenSSL lets a malformed one pass an email constraint);</item>
/// <item>a leaf that carries an extended key usage must list clientAuth; a leaf with no EKU extension
/// is accepted for client authentication, as RFC 5280 §4.2.1.12 reads "no restriction" (else <c>WrongUsage</c>).</item>
/// </list>
/// </remarks>
public static class ChainValidator
{
    /// <summary>Builds a chain for <paramref name="leaf"/> at <paramref name="at"/> and returns the verdict.</summary>
    public static DenyReason Validate(TrustStore store, X509Certificate2 leaf, X509Certificate2Collection? presentedIntermediates, DateTimeOffset at) =>
        Judge(store, leaf, presentedIntermediates, at).Reason;

    /// <summary>Builds a chain for <paramref name="leaf"/> at <paramref name="at"/>: the verdict and until when it holds.</summary>
    public static ChainJudgement Judge(TrustStore store, X509Certificate2 leaf, X509Certificate2Collection? presentedIntermediates, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(leaf);
        store.CountValidation();
        using var chain = new X509Chain();
        chain.ChainPolicy = store.ChainPolicy.Clone();
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        if (presentedIntermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presentedIntermediates);
        }

        try
        {
            try
            {
                chain.Build(leaf);
            }
            catch (CryptographicException)
            {
                // OpenSSL gives up on some hostile chains (name-constraint work limits, explicit curve
                // parameters) with an error .NET does not map: that is a refusal, not a crash.
                return new ChainJudgement(DenyReason.InvalidChain, DateTimeOffset.MaxValue);
            }

            return Judge(store, chain, leaf, at);
        }
        finally
        {
            DisposeElements(chain);
        }
    }

    /// <summary>
    /// The verdict for a chain already built, and until when it holds: for a valid chain, the earliest
    /// notAfter of the chain (exclusive: the first instant it is refused) and the earliest nextUpdate +
    /// grace of the CRLs covering it; a refusal holds for good (<see cref="DateTimeOffset.MaxValue"/>:
    /// never rebuilt per request).
    /// </summary>
    public static ChainJudgement Judge(TrustStore store, X509Chain chain, X509Certificate2 leaf, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(chain);
        var reason = Verdict(store, chain, leaf, at);
        if (reason != DenyReason.None)
        {
            return new ChainJudgement(reason, DateTimeOffset.MaxValue);
        }

        var until = store.Revocation.ValidUntil(chain.ChainElements);
        foreach (var element in chain.ChainElements)
        {
            var notAfter = new DateTimeOffset(element.Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            if (notAfter < until)
            {
                until = notAfter;
            }
        }

        // A verdict that is already out of date is not a verdict: fail closed rather than re-judge forever.
        return until <= at ? new ChainJudgement(DenyReason.Expired, DateTimeOffset.MaxValue) : new ChainJudgement(DenyReason.None, until);
    }

    /// <summary>The verdict for a chain already built (by SslStream at the handshake, with the store's policy).</summary>
    public static DenyReason Verdict(TrustStore store, X509Chain chain, X509Certificate2 leaf, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(leaf);

        var flags = X509ChainStatusFlags.NoError;
        foreach (var status in chain.ChainStatus)
        {
            flags |= status.Status;
        }

        const X509ChainStatusFlags untrusted =
            X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain |
            X509ChainStatusFlags.NotSignatureValid | X509ChainStatusFlags.Cyclic |
            X509ChainStatusFlags.ExplicitDistrust | X509ChainStatusFlags.InvalidPolicyConstraints;
        const X509ChainStatusFlags invalidChain =
            X509ChainStatusFlags.InvalidBasicConstraints | X509ChainStatusFlags.InvalidExtension |
            X509ChainStatusFlags.HasNotSupportedCriticalExtension | X509ChainStatusFlags.InvalidNameConstraints |
            X509ChainStatusFlags.HasNotSupportedNameConstraint | X509ChainStatusFlags.HasNotDefinedNameConstraint |
            X509ChainStatusFlags.HasNotPermittedNameConstraint | X509ChainStatusFlags.HasExcludedNameConstraint;

        if ((flags & untrusted) != 0 || chain.ChainElements.Count == 0 || !IsAnchoredInStore(chain))
        {
            return DenyReason.Untrusted;
        }

        if ((flags & X509ChainStatusFlags.Revoked) != 0)
        {
            return DenyReason.Revoked;
        }


        var timeVerdict = TimeVerdict(chain, at);
        if (timeVerdict != DenyReason.None)
        {
            return timeVerdict;
        }

        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            // The platform judged the time differently from our inclusive rule (it validated at "now"
            // while we were asked about another instant): fail closed with the closest reason.
            return leaf.NotAfter.ToUniversalTime() <= at.UtcDateTime ? DenyReason.Expired : DenyReason.NotYetValid;
        }

        var revocation = store.Revocation.Check(chain.ChainElements, at);
        if (revocation != DenyReason.None)
        {
            return revocation;
        }

        if ((flags & invalidChain) != 0)
        {
            return DenyReason.InvalidChain;
        }

        foreach (var element in chain.ChainElements)
        {
            if (!HasAcceptableKey(element.Certificate))
            {
                return DenyReason.InvalidChain;
            }
        }

        if ((flags & X509ChainStatusFlags.NotValidForUsage) != 0)
        {
            // On Linux a CA without keyCertSign is reported as a usage error too: tell the two apart.
            return LeafUsageIsClientAuth(leaf) ? DenyReason.InvalidChain : DenyReason.WrongUsage;
        }

        if (!LeafUsageIsClientAuth(leaf))
        {
            return DenyReason.WrongUsage;
        }

        if (HasNameConstraints(chain) && Policy.CertificateNames.From(leaf).Emails.Any(email => !IsMailbox(email)))
        {
            // OpenSSL lets a malformed email SAN pass an rfc822Name constraint; RFC 5280 says every name
            // must lie in the permitted namespace, which a malformed one cannot.
            return DenyReason.InvalidChain;
        }

        var remaining = flags & ~(X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.RevocationStatusUnknown |
                                  X509ChainStatusFlags.OfflineRevocation | X509ChainStatusFlags.NoIssuanceChainPolicy);
        return remaining == X509ChainStatusFlags.NoError ? DenyReason.None : DenyReason.InvalidChain;
    }

    /// <summary>True when the leaf has no EKU extension, or its EKU lists clientAuth.</summary>
    public static bool LeafUsageIsClientAuth(X509Certificate2 leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        foreach (var extension in leaf.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension eku)
            {
                foreach (var oid in eku.EnhancedKeyUsages)
                {
                    if (oid.Value == TrustStore.ClientAuthOid)
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The key policy every certificate of a chain must meet: RSA of at least 2048 bits and a
    /// multiple of 8, or ECDSA on P-256, P-384 or P-521. DSA, small or odd RSA moduli and other curves
    /// are refused (OpenSSL accepts them).
    /// </summary>
    public static bool HasAcceptableKey(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        // Read from the SubjectPublicKeyInfo's DER: no key object is imported into OpenSSL, which
        // cost more than the rest of this check on every handshake. A key whose point or modulus is
        // unusable still fails where it is used: the CA's in the chain's signature check, the
        // leaf's in the TLS CertificateVerify.
        try
        {
            var key = certificate.PublicKey;
            switch (key.Oid.Value)
            {
                case "1.2.840.113549.1.1.1":
                    var bits = RsaModulusBits(key.EncodedKeyValue.RawData);
                    return bits >= 2048 && bits % 8 == 0;

                case "1.2.840.10045.2.1":
                    var parameters = new AsnReader(key.EncodedParameters?.RawData ?? [], AsnEncodingRules.DER);
                    var curve = parameters.ReadObjectIdentifier();
                    parameters.ThrowIfNotEmpty();
                    return curve is "1.2.840.10045.3.1.7" or "1.3.132.0.34" or "1.3.132.0.35";

                default:
                    return false;
            }
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Bit length of the modulus of a DER RSAPublicKey (SEQUENCE { modulus, publicExponent }).</summary>
    private static int RsaModulusBits(byte[] rsaPublicKey)
    {
        var reader = new AsnReader(rsaPublicKey, AsnEncodingRules.DER);
        var sequence = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        var modulus = sequence.ReadIntegerBytes().Span;
        _ = sequence.ReadIntegerBytes();
        sequence.ThrowIfNotEmpty();
        if (modulus.IsEmpty || (modulus[0] & 0x80) != 0)
        {
            return 0; // negative: not a modulus
        }

        // DER integers are minimal: at most one leading zero byte, present only before a high bit.
        if (modulus[0] == 0)
        {
            modulus = modulus[1..];
        }

        // Bits used in the top byte: 32 minus the leading zeros of the byte as a 32-bit value.
        return modulus.IsEmpty ? 0 : ((modulus.Length - 1) * 8) + (32 - System.Numerics.BitOperations.LeadingZeroCount((uint)modulus[0]));
    }

    private static bool HasNameConstraints(X509Chain chain)
    {
        for (var i = 1; i < chain.ChainElements.Count; i++)
        {
            if (chain.ChainElements[i].Certificate.Extensions["2.5.29.30"] is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A plain addr-spec: one '@', a non-empty local part, a dotted domain of letters, digits and hyphens.</summary>
    public static bool IsMailbox(string email)
    {
        ArgumentNullException.ThrowIfNull(email);
        var at = email.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1)
        {
            return false;
        }

        var local = email.AsSpan(0, at);
        foreach (var c in local)
        {
            if (c <= ' ' || c >= 0x7F || "()<>[]:;\\,\"".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return email[(at + 1)..].Split('.').All(label => label.Length is > 0 and <= 63 &&
            label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') && label[0] != '-' && label[^1] != '-');
    }

    /// <summary>Disposes the certificates a chain created (copies; the caller's leaf is untouched).</summary>
    public static void DisposeElements(X509Chain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        for (var i = 0; i < chain.ChainElements.Count; i++)
        {
            chain.ChainElements[i].Certificate.Dispose();
        }
    }

    private static DenyReason TimeVerdict(X509Chain chain, DateTimeOffset at)
    {
        var t = at.UtcDateTime;
        foreach (var element in chain.ChainElements)
        {
            var certificate = element.Certificate;
            if (t >= certificate.NotAfter.ToUniversalTime())
            {
                return DenyReason.Expired;
            }

            if (t < certificate.NotBefore.ToUniversalTime())
            {
                return DenyReason.NotYetValid;
            }
        }

        return DenyReason.None;
    }

    private static bool IsAnchoredInStore(X509Chain chain)
    {
        // With custom root trust, the last element must be one of the configured roots (byte for byte).
        var top = chain.ChainElements[^1].Certificate;
        foreach (var root in chain.ChainPolicy.CustomTrustStore)
        {
            if (root.RawDataMemory.Span.SequenceEqual(top.RawDataMemory.Span))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>A chain verdict and the instant it stops holding (re-judge at or after <see cref="ValidUntil"/>).</summary>
public readonly record struct ChainJudgement(DenyReason Reason, DateTimeOffset ValidUntil);
