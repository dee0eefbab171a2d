using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tls;

/// <summary>
/// Verifies a backend's server certificate for mutual TLS to the backend: a chain to one of the
/// configured roots only (<see cref="X509ChainTrustMode.CustomRootTrust"/>; the system store only
/// when asked for), serverAuth usage, validity at <c>now</c>, and a name. No network: missing
/// intermediates are never downloaded, and revocation is not checked (<see cref="X509RevocationMode.NoCheck"/>,
/// said explicitly; the backend CA is the operator's own and publishes no CRL the gateway could
/// fetch off the request path). The name is matched with <see cref="X509Certificate2.MatchesHostname"/>
/// (subject alternative names only, wildcards allowed, an IP address against IP-address SANs).
/// </summary>
public static class BackendCertificateValidator
{
    private static readonly Oid ServerAuth = new(Pki.ServerAuthOid);

    /// <summary>Null when the certificate is acceptable; otherwise why not (for the log, never for the client).</summary>
    public static string? Problem(
        X509Certificate2 certificate,
        IEnumerable<X509Certificate2> presented,
        IReadOnlyList<X509Certificate2> roots,
        IReadOnlyList<X509Certificate2> intermediates,
        bool useSystemTrust,
        IReadOnlyList<string> serverNames,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(presented);
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(intermediates);
        ArgumentNullException.ThrowIfNull(serverNames);
        var extra = presented.Concat(intermediates).ToList();
        var problems = new List<string>();
        var trusted = roots.Count != 0 && Chain(certificate, extra, roots, now, problems, "backend CA bundle")
            || useSystemTrust && Chain(certificate, extra, null, now, problems, "system trust store");
        if (!trusted)
        {
            return string.Join("; ", problems);
        }

        if (!serverNames.Any(name => certificate.MatchesHostname(name, allowWildcards: true, allowCommonName: false)))
        {
            return $"name mismatch: the certificate is not for {string.Join(" or ", serverNames.Select(n => $"'{n}'"))}";
        }

        return null;
    }

    private static bool Chain(X509Certificate2 certificate, List<X509Certificate2> extra, IReadOnlyList<X509Certificate2>? roots, DateTimeOffset now, List<string> problems, string anchor)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        if (roots is not null)
        {
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(roots.ToArray());
        }

        policy.ExtraStore.AddRange(extra.ToArray());
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = now.UtcDateTime;
        policy.ApplicationPolicy.Add(ServerAuth);
        try
        {
            if (chain.Build(certificate))
            {
                return true;
            }

            var statuses = chain.ChainStatus.Select(s => s.Status.ToString()).Distinct(StringComparer.Ordinal);
            problems.Add($"no valid chain to the {anchor} ({string.Join(", ", statuses)})");
            return false;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }
}
