using System.Globalization;
using System.Security.Cryptography;
using MtlsGate.Configuration;
using MtlsGate.Text;

namespace MtlsGate.Cli;

/// <summary>
/// The <c>check</c> lines for mutual TLS to the backend: per cluster with a <c>MtlsGate:Backends</c>
/// entry, the client certificate (subject, fingerprint, expiry) and what the backend is verified
/// against; per other cluster with an https destination, that YARP's default (system store) applies.
/// Certificate fields and paths are printed header-encoded: no control character reaches the terminal.
/// </summary>
public static class BackendCheck
{
    public static void Print(GatewaySnapshot snapshot, TextWriter output, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(output);
        foreach (var backend in snapshot.Backends.Values.OrderBy(b => b.ClusterId, StringComparer.OrdinalIgnoreCase))
        {
            var leaf = backend.ClientCertificate.Leaf;
            var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
            var days = (int)Math.Floor((notAfter - now).TotalDays);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Backend {HeaderEncoding.Encode(backend.ClusterId)}: client certificate {HeaderEncoding.Encode(leaf.Subject)} sha256={leaf.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant()} expires {notAfter:u} ({days} days left), from {HeaderEncoding.Encode(backend.ClientCertificate.Source)}"));
            var anchors = backend.Roots.Concat(backend.Intermediates).Select(c => HeaderEncoding.Encode(c.Subject)).ToList();
            var trust = anchors.Count == 0 ? "" : $"CA {string.Join("; ", anchors)} from {HeaderEncoding.Encode(backend.CaBundle ?? "")}";
            if (backend.UseSystemTrust)
            {
                trust += (trust.Length == 0 ? "" : ", or ") + "the system trust store (UseSystemTrust)";
            }

            output.WriteLine($"  backend certificate verified against {trust}; it must name {string.Join(" or ", backend.ServerNames.Select(HeaderEncoding.Encode))}; no revocation check, no downloads");
        }

        foreach (var cluster in snapshot.Proxy.Clusters.Where(c => !snapshot.Backends.ContainsKey(c.ClusterId)).OrderBy(c => c.ClusterId, StringComparer.OrdinalIgnoreCase))
        {
            if (cluster.Destinations?.Values.Any(d => d.Address.StartsWith("https:", StringComparison.OrdinalIgnoreCase)) == true)
            {
                output.WriteLine($"Backend {HeaderEncoding.Encode(cluster.ClusterId)}: no MtlsGate:Backends entry: https destinations verified by YARP's default client (system trust store), no client certificate");
            }
        }
    }
}
