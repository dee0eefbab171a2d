using System.Collections.Frozen;
using System.Security.Cryptography;
using MtlsGate.Policy;
using MtlsGate.Text;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tls;

/// <summary>A verified CRL and where it came from (<see cref="Key"/>: the configuration key that named it, for errors).</summary>
public sealed record CrlSource(CertificateRevocationList Crl, X509Certificate2 Issuer, string Source)
{
    public string Key { get; init; } = Source;
}

/// <summary>
/// Revocation material of one trust store, immutable: CRLs keyed by the issuing CA, and the
/// configured deny-lists. Part of the trust snapshot, so a change makes a new store, and every
/// connection re-judges its certificate against it on its next request.
/// </summary>
public sealed class Revocation
{
    public static readonly Revocation None = new([], [], [], TimeSpan.Zero);

    private readonly FrozenDictionary<string, CrlSource> _crlsByIssuer;

    public Revocation(IReadOnlyList<CrlSource> crls, IEnumerable<string> denyFingerprints, IEnumerable<(string Issuer, string Serial)> denySerials, TimeSpan staleGrace)
    {
        ArgumentNullException.ThrowIfNull(crls);
        _crlsByIssuer = crls.ToFrozenDictionary(c => c.Issuer.Thumbprint, StringComparer.Ordinal);
        Crls = crls;
        DenyFingerprints = denyFingerprints.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        DenySerials = denySerials.Select(d => d.Issuer + "\n" + d.Serial).ToFrozenSet(StringComparer.Ordinal);
        StaleGrace = staleGrace;
    }

    public IReadOnlyList<CrlSource> Crls { get; }

    public FrozenSet<string> DenyFingerprints { get; }

    /// <summary>"issuer DN\nSERIAL" keys.</summary>
    public FrozenSet<string> DenySerials { get; }

    public TimeSpan StaleGrace { get; }

    public bool IsEmpty => Crls.Count == 0 && DenyFingerprints.Count == 0 && DenySerials.Count == 0;

    /// <summary>True when the CRL is past nextUpdate plus the grace at <paramref name="at"/>.</summary>
    public bool IsStale(CrlSource crl, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(crl);
        return crl.Crl.NextUpdate is { } next && at > next + StaleGrace;
    }

    /// <summary>
    /// Until when a verdict over <paramref name="elements"/> may be kept without asking again: the
    /// earliest nextUpdate + grace of the CRLs that cover the chain (one tick after, as
    /// <see cref="IsStale"/> refuses strictly after it), or <see cref="DateTimeOffset.MaxValue"/>.
    /// </summary>
    public DateTimeOffset ValidUntil(X509ChainElementCollection elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var until = DateTimeOffset.MaxValue;
        if (_crlsByIssuer.Count == 0)
        {
            return until;
        }

        for (var i = 0; i < elements.Count - 1; i++)
        {
            if (_crlsByIssuer.TryGetValue(elements[i + 1].Certificate.Thumbprint, out var crl) && crl.Crl.NextUpdate is { } next)
            {
                var stale = next + StaleGrace;
                if (stale < DateTimeOffset.MaxValue.AddTicks(-1) && stale.AddTicks(1) < until)
                {
                    until = stale.AddTicks(1);
                }
            }
        }

        return until;
    }

    /// <summary>Checks every certificate of a built chain except its root: deny-lists, then its issuer's CRL.</summary>
    public DenyReason Check(X509ChainElementCollection elements, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(elements);
        if (IsEmpty)
        {
            return DenyReason.None;
        }

        for (var i = 0; i < elements.Count - 1; i++)
        {
            var certificate = elements[i].Certificate;
            var issuer = elements[i + 1].Certificate;
            if (DenyFingerprints.Count != 0 &&
                DenyFingerprints.Contains(Fingerprint.Sha256(certificate)))
            {
                return DenyReason.Revoked;
            }

            if (DenySerials.Count != 0 &&
                DenySerials.Contains(certificate.IssuerName.Name + "\n" + SerialNumber.Normalize(certificate.SerialNumberBytes.Span)))
            {
                return DenyReason.Revoked;
            }

            if (_crlsByIssuer.Count != 0 && _crlsByIssuer.TryGetValue(issuer.Thumbprint, out var crl))
            {
                if (crl.Crl.IsRevoked(certificate))
                {
                    return DenyReason.Revoked;
                }

                if (IsStale(crl, at))
                {
                    return DenyReason.RevocationUnknown;
                }
            }
        }

        return DenyReason.None;
    }
}
