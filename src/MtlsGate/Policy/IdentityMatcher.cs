namespace MtlsGate.Policy;

/// <summary>
/// An identity allow-list, any-of: the certificate matches when any listed value matches.
/// An empty matcher (every list empty) matches nobody. Comparison is ordinal; DNS names, emails and
/// fingerprints ignore case.
/// </summary>
public sealed record IdentityMatcher(
    IReadOnlyList<string> SubjectCommonNames,
    IReadOnlyList<string> Organizations,
    IReadOnlyList<string> OrganizationalUnits,
    IReadOnlyList<string> DnsNames,
    IReadOnlyList<string> Emails,
    IReadOnlyList<string> Uris,
    IReadOnlyList<string> UriPrefixes,
    IReadOnlyList<string> Issuers,
    IReadOnlyList<string> Fingerprints,
    IReadOnlyList<string> SpkiPins)
{
    public bool Matches(ClientIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.Certificate is null)
        {
            return false;
        }

        if (Fingerprints.Count != 0 && Fingerprints.Contains(identity.Sha256Fingerprint, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }

        if (Issuers.Count != 0 && Issuers.Contains(identity.Issuer, StringComparer.Ordinal))
        {
            return true;
        }

        var names = identity.Names;
        return AnyOf(SubjectCommonNames, names.CommonNames, StringComparer.Ordinal)
            || AnyOf(Organizations, names.Organizations, StringComparer.Ordinal)
            || AnyOf(OrganizationalUnits, names.OrganizationalUnits, StringComparer.Ordinal)
            || AnyOf(DnsNames, names.DnsNames, StringComparer.OrdinalIgnoreCase)
            || AnyOf(Emails, names.Emails, StringComparer.OrdinalIgnoreCase)
            || AnyOf(Uris, names.Uris, StringComparer.Ordinal)
            || (UriPrefixes.Count != 0 && names.Uris.Any(u => UriPrefixes.Any(p => u.StartsWith(p, StringComparison.Ordinal))))
            || (SpkiPins.Count != 0 && SpkiPins.Any(p => p == names.SpkiSha256Base64 || string.Equals(p, names.SpkiSha256Hex, StringComparison.OrdinalIgnoreCase)));
    }

    private static bool AnyOf(IReadOnlyList<string> allowed, IReadOnlyList<string> actual, StringComparer comparer) =>
        allowed.Count != 0 && actual.Any(a => allowed.Contains(a, comparer));
}

/// <summary>A method restriction: certificates matching <see cref="Match"/> may only use <see cref="Methods"/>.</summary>
public sealed record MethodRestriction(IdentityMatcher Match, IReadOnlyList<string> Methods);
