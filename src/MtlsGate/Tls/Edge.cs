using System.Collections.Frozen;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Policy;
using MtlsGate.Text;

namespace MtlsGate.Tls;

/// <summary>How an edge hands the client's certificate on (names only in configuration).</summary>
public enum EdgeFormat
{
    /// <summary>
    /// RFC 9440 §2: <c>Client-Cert: :BASE64(DER):</c> and <c>Client-Cert-Chain: :…:, :…:</c> (the
    /// intermediates, leaf first). What HAProxy (<c>ssl_c_der,base64</c>) and Cloudflare's request
    /// header rules (<c>cf.tls_client_auth.cert_rfc9440</c> / <c>cert_chain_rfc9440</c>) send.
    /// </summary>
    Rfc9440,

    /// <summary>
    /// Envoy's <c>X-Forwarded-Client-Cert</c>: <c>Cert="URL-encoded PEM"</c> (and <c>Chain=</c>, the
    /// PEM leaf + intermediates). Only <c>Cert</c>/<c>Chain</c> carry the certificate; an element with
    /// only <c>Hash</c>/<c>Subject</c> is no certificate. The LAST element is read (the edge's own,
    /// appended after anything the client sent with <c>APPEND_FORWARD</c>).
    /// </summary>
    Xfcc,

    /// <summary>
    /// Cloudflare Access's certificate forwarding: <c>Cf-Client-Cert-Der-Base64</c> (plain base64 DER,
    /// leaf only). Cloudflare sends it on the first request of a client's connection only
    /// (developers.cloudflare.com/ssl/client-certificates/forward-a-client-certificate/), so later
    /// requests arrive without a certificate: prefer <see cref="Rfc9440"/> with a header rule.
    /// </summary>
    Cloudflare,
}

/// <summary>
/// One compiled <c>MtlsGate:Edges:NAME</c>: where forwarded client certificates may come from and how
/// they are written. An edge is a source of identities, never an identity itself: the certificate it
/// authenticates with (a pin) only says "this connection is the edge".
/// </summary>
/// <param name="Name">The configuration name: the identity's <c>Source</c> in logs, metrics and headers.</param>
/// <param name="Format">How the client's certificate is written.</param>
/// <param name="Listen">The loopback plain-HTTP listener of a local tunnel connector, or null.</param>
/// <param name="PinnedCertificates">SHA-256 (lower-case hex) of the edge's own TLS client certificates.</param>
/// <param name="TrustedProxies">Addresses the edge connects from; with a pin or a listener, both must hold.</param>
/// <param name="KnownCertificates">The pinned certificates whose files were given (for expiry warnings).</param>
public sealed record Edge(
    string Name,
    EdgeFormat Format,
    EdgeListen? Listen,
    FrozenSet<string> PinnedCertificates,
    IReadOnlyList<IPNetwork> TrustedProxies,
    IReadOnlyList<X509Certificate2> KnownCertificates)
{
    /// <summary>The identity of a request from this edge that carried no certificate.</summary>
    public ClientIdentity NoCertificate { get; } = new(null, DenyReason.NoCertificate) { Source = Name };

    /// <summary>The identity of a request from this edge whose forwarded certificate could not be read.</summary>
    public ClientIdentity Unreadable { get; } = new(null, DenyReason.ForwardedCertificateInvalid) { Source = Name };

    /// <summary>Whether connections to the gateway's TLS listeners can be this edge (by pin or by address alone).</summary>
    public bool OnGatewayListener => Listen is null;

    /// <summary>True when <paramref name="address"/> may be this edge: no address rule, or within one.</summary>
    public bool AllowsAddress(IPAddress? address) =>
        TrustedProxies.Count == 0 || (address is not null && Networks.Contain(TrustedProxies, address));
}

/// <summary>A loopback plain-HTTP listener of an edge: <paramref name="Address"/> null is <c>localhost</c> (both loopbacks).</summary>
public sealed record EdgeListen(string Url, IPAddress? Address, int Port);

/// <summary>The compiled edges of a snapshot, with the look-ups the listeners need.</summary>
public sealed class EdgeSet
{
    public static readonly EdgeSet Empty = new([]);

    private readonly FrozenDictionary<string, Edge> _byPin;
    private readonly Edge[] _byAddressOnly;

    public EdgeSet(IReadOnlyList<Edge> edges)
    {
        ArgumentNullException.ThrowIfNull(edges);
        All = edges;
        _byPin = edges.Where(e => e.OnGatewayListener)
            .SelectMany(e => e.PinnedCertificates.Select(pin => (pin, e)))
            .ToFrozenDictionary(p => p.pin, p => p.e, StringComparer.Ordinal);
        _byAddressOnly = [.. edges.Where(e => e.OnGatewayListener && e.PinnedCertificates.Count == 0 && e.TrustedProxies.Count != 0)];
    }

    public IReadOnlyList<Edge> All { get; }

    public bool IsEmpty => All.Count == 0;

    /// <summary>Whether any edge is recognised by its TLS client certificate.</summary>
    public bool HasPins => _byPin.Count != 0;

    public Edge? Named(string name) => All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The edge whose pin is this certificate's SHA-256, or null.</summary>
    public Edge? ByCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return _byPin.Count != 0 && _byPin.TryGetValue(Fingerprint.Sha256(certificate), out var edge) ? edge : null;
    }

    /// <summary>The address-only edge (<c>TrustedProxies</c>, no pin, no listener) this peer belongs to, or null.</summary>
    public Edge? ByAddress(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        foreach (var edge in _byAddressOnly)
        {
            if (Networks.Contain(edge.TrustedProxies, address))
            {
                return edge;
            }
        }

        return null;
    }
}
