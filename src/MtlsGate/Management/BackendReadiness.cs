using MtlsGate.Configuration;

namespace MtlsGate.Management;

/// <summary>
/// <c>/readyz</c> for mutual TLS to the backend: a client certificate that is expired or not yet
/// valid is a problem (the backend refuses every connection); one that expires within
/// <see cref="WarnDays"/> days is a warning. Fingerprints only, no subject or path.
/// </summary>
public static class BackendReadiness
{
    public const int WarnDays = 30;

    public static void Evaluate(GatewaySnapshot snapshot, DateTimeOffset now, List<ReadinessItem> problems, List<ReadinessItem> warnings)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(warnings);
        foreach (var backend in snapshot.Backends.Values)
        {
            var leaf = backend.ClientCertificate.Leaf;
            var check = $"backend:{backend.ClusterId}";
            var fingerprint = leaf.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant();
            var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
            if (now >= notAfter)
            {
                problems.Add(new(check, $"client certificate sha256={fingerprint} expired {notAfter:u}: the backend refuses the gateway"));
            }
            else if (now < leaf.NotBefore.ToUniversalTime())
            {
                problems.Add(new(check, $"client certificate sha256={fingerprint} not valid before {leaf.NotBefore.ToUniversalTime():u}"));
            }
            else if (notAfter - now <= TimeSpan.FromDays(WarnDays))
            {
                var days = (int)Math.Floor((notAfter - now).TotalDays);
                warnings.Add(new(check, $"client certificate sha256={fingerprint} expires {notAfter:u} ({days} days left); replace its file, the reload picks it up"));
            }
        }
    }
}
