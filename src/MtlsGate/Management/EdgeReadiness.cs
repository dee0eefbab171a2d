using MtlsGate.Configuration;

namespace MtlsGate.Management;

/// <summary>
/// <c>/readyz</c> for edges (<c>MtlsGate:Edges</c>): a pinned edge certificate whose file is known
/// (<c>PinnedCertificateFiles</c>) and that expires within <see cref="WarnDays"/> days is a warning;
/// one already expired is a problem (that edge's connections are no longer recognised, so its clients
/// get the default denial). A pin given only as a fingerprint has no known expiry: nothing to say.
/// </summary>
public static class EdgeReadiness
{
    public const int WarnDays = 30;

    public static void Evaluate(GatewaySnapshot snapshot, DateTimeOffset now, List<ReadinessItem> problems, List<ReadinessItem> warnings)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(warnings);
        foreach (var edge in snapshot.Edges.All)
        {
            foreach (var certificate in edge.KnownCertificates)
            {
                var check = $"edge:{edge.Name}";
                var fingerprint = Text.Fingerprint.Sha256(certificate);
                var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
                if (now >= notAfter)
                {
                    problems.Add(new(check, $"pinned certificate sha256={fingerprint} expired {notAfter:u}: the edge is no longer recognised"));
                }
                else if (notAfter - now <= TimeSpan.FromDays(WarnDays))
                {
                    var days = (int)Math.Floor((notAfter - now).TotalDays);
                    warnings.Add(new(check, $"pinned certificate sha256={fingerprint} expires {notAfter:u} ({days} days left): pin the edge's next certificate before then"));
                }
            }
        }
    }
}
