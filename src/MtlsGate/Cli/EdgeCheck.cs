using System.Globalization;
using MtlsGate.Configuration;
using MtlsGate.Text;
using MtlsGate.Tls;

namespace MtlsGate.Cli;

/// <summary>
/// The <c>check</c> lines for edges (<c>MtlsGate:Edges</c>): per edge, how a connection is recognised
/// as it (listener, pins, addresses), the headers its clients' certificates are read from, and the
/// known pinned certificates' expiry. Then the rule every other connection follows.
/// </summary>
public static class EdgeCheck
{
    public static void Print(GatewaySnapshot snapshot, TextWriter output, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(output);
        foreach (var edge in snapshot.Edges.All)
        {
            output.WriteLine($"Edge {HeaderEncoding.Encode(edge.Name)}: {Sources(edge)}; client certificates read from {Headers(edge.Format)} ({edge.Format}), judged by each request's policy and trust store (the forwarded Host picks a configured host)");
            foreach (var certificate in edge.KnownCertificates)
            {
                var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  pinned {HeaderEncoding.Encode(certificate.Subject)} sha256={Fingerprint.Sha256(certificate)} expires {notAfter:u} ({(int)Math.Floor((notAfter - now).TotalDays)} days left)"));
            }
        }

        output.WriteLine(snapshot.Edges.IsEmpty
            ? "Edges: none; forwarded client-certificate headers (Client-Cert, X-Forwarded-Client-Cert, Cf-Client-Cert-*) are stripped from every request."
            : "Any other connection: forwarded client-certificate headers are stripped and ignored; only its own TLS certificate counts.");
    }

    public static string Sources(Edge edge)
    {
        ArgumentNullException.ThrowIfNull(edge);
        var parts = new List<string>();
        if (edge.Listen is { } listen)
        {
            parts.Add($"every connection to {listen.Url} (loopback, plain HTTP)");
        }

        if (edge.PinnedCertificates.Count != 0)
        {
            parts.Add($"a TLS connection presenting one of {edge.PinnedCertificates.Count} pinned certificate(s) ({string.Join(", ", edge.PinnedCertificates.Order(StringComparer.Ordinal).Select(p => p[..16] + "…"))})");
        }

        if (edge.TrustedProxies.Count != 0)
        {
            var networks = string.Join(", ", edge.TrustedProxies);
            parts.Add(edge.Listen is null && edge.PinnedCertificates.Count == 0 ? $"every TLS connection from {networks}" : $"only from {networks}");
        }

        return string.Join(", ", parts);
    }

    public static string Headers(EdgeFormat format)
    {
        var (certificate, chain) = ForwardedCertificateReader.HeaderNames(format);
        return chain is null ? certificate : $"{certificate} + {chain}";
    }
}
