namespace MtlsGate.Configuration;

/// <summary>
/// <c>MtlsGate:Edges:NAME</c>: a place forwarded client certificates may come from (a tunnel connector,
/// a CDN, a TLS-terminating proxy), how it proves it is that edge, and how it writes the certificate.
/// At least one source is required: <see cref="Listen"/>, <see cref="PinnedCertificates"/> /
/// <see cref="PinnedCertificateFiles"/>, or <see cref="TrustedProxies"/>. A forwarded certificate is
/// judged like a direct one (same validator, the policy's trust store, the request's time); from any
/// connection that is not an authenticated edge, the headers are stripped and ignored.
/// </summary>
public sealed class EdgeSection
{
    public const string DefaultFormat = "Rfc9440";

    /// <summary>
    /// A plain-HTTP listener for a connector on this machine (<c>cloudflared</c>, <c>ngrok</c>, Tailscale
    /// Funnel…): <c>http://127.0.0.1:PORT</c>, <c>http://[::1]:PORT</c> or <c>http://localhost:PORT</c>.
    /// Only a loopback address is accepted: every connection to it is taken for this edge. Default none.
    /// Changing it needs a restart.
    /// </summary>
    public string? Listen { get; set; }

    /// <summary>
    /// SHA-256 fingerprints (hex, colons allowed, any case) of the TLS client certificate the edge
    /// presents to the gateway's TLS listener (e.g. a zone- or hostname-specific Cloudflare
    /// authenticated-origin-pull certificate). Such a connection is the edge; its certificate is never a
    /// client identity. Default none.
    /// </summary>
    public List<string> PinnedCertificates { get; set; } = [];

    /// <summary>
    /// PEM/DER files of the edge's certificates: pinned like <see cref="PinnedCertificates"/>, and
    /// known, so <c>/readyz</c> warns 30 days before one expires. Default none.
    /// </summary>
    public List<string> PinnedCertificateFiles { get; set; } = [];

    /// <summary>
    /// Addresses or CIDRs the edge connects from. Alone: every connection to the gateway's TLS listener
    /// from them is the edge. With a pin or <see cref="Listen"/>: the peer must also be in them, else the
    /// connection is refused. Default none.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary><c>Rfc9440</c> (default; <c>Client-Cert</c>, <c>Client-Cert-Chain</c>), <c>Xfcc</c> (Envoy's <c>Cert=</c>) or <c>Cloudflare</c> (<c>Cf-Client-Cert-Der-Base64</c>). Names only.</summary>
    public string? Format { get; set; }
}
