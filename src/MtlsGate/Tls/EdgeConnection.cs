using Microsoft.AspNetCore.Http;
using MtlsGate.Policy;

namespace MtlsGate.Tls;

/// <summary>
/// A connection feature: this connection is an authenticated edge (<see cref="Edge"/>), so the
/// client certificate of each request is the one the edge forwarded in its headers, judged by the
/// same <see cref="ChainValidator"/> against the request's trust store at the request's time. The
/// connection's own certificate (the edge's pin) is never a client identity.
/// </summary>
/// <remarks>
/// Parsing and chain building are cached per connection by the header values and the trust store
/// (one edge connection carries many clients: a small bounded cache). A cached verdict holds until its
/// <see cref="ClientIdentity.ValidUntil"/> (a certificate or CRL that expires is re-judged); a reload
/// brings new <see cref="TrustStore"/> objects, so nothing judged before it is reused after it.
/// </remarks>
public sealed class EdgeConnection(Edge edge, TimeProvider time)
{
    /// <summary>Distinct (headers, store) verdicts kept per connection.</summary>
    public const int CacheSize = 16;

    private readonly Lock _lock = new();
    private readonly Dictionary<CacheKey, ClientIdentity> _cache = [];

    public Edge Edge { get; } = edge ?? throw new ArgumentNullException(nameof(edge));

    /// <summary>
    /// The request's identity from the edge's headers. <paramref name="problem"/> explains a
    /// <see cref="DenyReason.ForwardedCertificateInvalid"/> the first time a value is seen on this
    /// connection (null otherwise), for one log line.
    /// </summary>
    public ClientIdentity IdentityFor(IHeaderDictionary headers, TrustStore? store, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(headers);
        problem = null;
        var (certificateHeader, chainHeader) = ForwardedCertificateReader.HeaderNames(Edge.Format);
        var certificate = headers[certificateHeader];
        if (certificate.Count == 0)
        {
            return Edge.NoCertificate;
        }

        // Several field lines are combined with commas (RFC 9110 §5.3): for a single certificate, that is malformed.
        var certificateText = certificate.Count == 1 ? certificate[0] : certificate.ToString();
        var chainText = chainHeader is null ? null : headers[chainHeader] is { Count: > 0 } chain ? string.Join(", ", chain.ToArray()) : null;
        var key = new CacheKey(certificateText ?? "", chainText, store);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_cache.TryGetValue(key, out var cached) && now.UtcTicks < cached.ValidUntilTicks)
            {
                return cached;
            }
        }

        var identity = Judge(ForwardedCertificateReader.Read(Edge.Format, certificateText, chainText), store, now, out problem);
        lock (_lock)
        {
            if (_cache.Count >= CacheSize)
            {
                _cache.Clear();
            }

            _cache[key] = identity;
        }

        return identity;
    }

    private ClientIdentity Judge(ForwardedCertificate forwarded, TrustStore? store, DateTimeOffset now, out string? problem)
    {
        problem = forwarded.Problem;
        if (forwarded.IsInvalid)
        {
            return Edge.Unreadable;
        }

        if (forwarded.Leaf is not { } leaf)
        {
            return Edge.NoCertificate;
        }

        // No trust store applies (a public policy with none configured): nothing can vouch for it.
        var judgement = store is null
            ? new ChainJudgement(DenyReason.Untrusted, DateTimeOffset.MaxValue)
            : ChainValidator.Judge(store, leaf, forwarded.Chain, now);
        return new ClientIdentity(leaf, judgement.Reason, judgement.ValidUntil) { Source = Edge.Name, ForwardedChain = forwarded.Chain };
    }

    private readonly record struct CacheKey(string Certificate, string? Chain, TrustStore? Store);
}
