using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using MtlsGate.Policy;

namespace MtlsGate.Tls;

/// <summary>
/// Per-connection state: the client identity, computed once at the handshake against the trust
/// snapshot of that moment, and read by every request of the connection (HTTP/1.1 keep-alive or
/// HTTP/2 streams) without another chain build. A verdict carries the instant it stops holding
/// (<see cref="ClientIdentity.ValidUntil"/>): the first request at or after it re-judges the
/// certificate, so a certificate or CRL that expires while the connection stays open is refused.
/// </summary>
public sealed class ConnectionIdentityFeature
{
    private readonly TimeProvider _time;
    private readonly bool _rejectAtHandshake;
    private ClientIdentity? _identity;
    private (TrustStore Store, ClientIdentity Identity)[] _others = [];
    private readonly Lock _othersLock = new();
    private X509Certificate2Collection? _presented;
    private readonly long _openedTicks;

    // The earliest ValidUntil of every identity this connection holds (UTC ticks): the per-request
    // check is one comparison against it.
    private long _earliestValidUntil = long.MaxValue;

    public ConnectionIdentityFeature(ConnectionContext connection, TrustStore trustStore, bool rejectAtHandshake, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Connection = connection;
        TrustStore = trustStore;
        _rejectAtHandshake = rejectAtHandshake;
        _time = time;
        _openedTicks = time.GetUtcNow().UtcTicks;
    }

    /// <summary>The transport connection (used to close it whole, e.g. for a silent-close denial).</summary>
    public ConnectionContext Connection { get; }

    /// <summary>Set when a denial closed the connection on purpose: no close_notify either (zero bytes).</summary>
    public bool ClosedByPolicy { get; set; }

    /// <summary>The configured host (SNI) this connection was established for; null for the top-level default.</summary>
    public string? HostName { get; init; }

    /// <summary>The edges of the configuration the connection was accepted under: a pinned edge certificate is recognised, never judged as a client.</summary>
    public EdgeSet Edges { get; init; } = EdgeSet.Empty;

    /// <summary>
    /// The edge this connection authenticated as with its pinned TLS client certificate (inside its
    /// validity period), or null. Such a connection has no client identity of its own
    /// (<see cref="Identity"/> is <see cref="ClientIdentity.None"/>): its requests carry the clients' certificates.
    /// </summary>
    public Edge? PinnedEdge { get; private set; }

    /// <summary>Intermediates the client sent that the store did not hold (for RFC 9440 Client-Cert-Chain).</summary>
    public X509Certificate2Collection? PresentedChain => _presented;

    /// <summary>The trust store the handshake validated against.</summary>
    public TrustStore TrustStore { get; }

    /// <summary>The identity for <see cref="TrustStore"/>; <see cref="ClientIdentity.None"/> until known.</summary>
    public ClientIdentity Identity => _identity ?? ClientIdentity.None;

    /// <summary>The client address as text, formatted once per connection.</summary>
    public string? RemoteIp => _remoteIp ??= (Connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address.ToString();

    private string? _remoteIp;

    /// <summary>Per-connection cache slot for the forwarded identity headers (computed on first use).</summary>
    internal object? HeaderCache { get; set; }

    /// <summary>Per-connection cache slot for the login session cookie last validated on this connection (Login/: one unprotect per cookie value).</summary>
    internal object? LoginCache { get; set; }

    /// <summary>
    /// SslStream's remote-certificate callback. The chain it hands us was built with
    /// <see cref="TrustStore.ChainPolicy"/> (custom roots, no downloads), so this is the one chain
    /// build of the connection.
    /// </summary>
    public bool OnRemoteCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            _identity = ClientIdentity.None;
            return !_rejectAtHandshake || IsAddressEdge();
        }

        if (IsPinnedEdge(leaf))
        {
            return true;
        }

        TrustStore.CountValidation();
        var now = _time.GetUtcNow();
        var judgement = chain is null ? new ChainJudgement(DenyReason.Untrusted, DateTimeOffset.MaxValue) : ChainValidator.Judge(TrustStore, chain, leaf, now);
        _presented = chain is null ? null : PresentedIntermediates(chain);
        if (_presented is not null)
        {
            ResumedSessionIntermediates.Remember(leaf, _presented);
        }
        else if (judgement.Reason != DenyReason.None && ResumedSessionIntermediates.Recall(leaf) is { } earlier)
        {
            // A resumed session carries the leaf but not the intermediates the client sent in its full
            // handshake (OpenSSL keeps only the peer certificate in a session ticket): judge again with those.
            _presented = earlier;
            judgement = ChainValidator.Judge(TrustStore, leaf, earlier, now);
        }

        _identity = Track(new ClientIdentity(leaf, judgement.Reason, judgement.ValidUntil));
        return !_rejectAtHandshake || _identity.IsValid || IsAddressEdge();
    }

    /// <summary>
    /// Called once the handshake is done. A resumed TLS session may carry the first session's
    /// certificate without the callback running: validate it now, against the current trust material.
    /// Returns false when the connection must be dropped (reject-at-handshake mode).
    /// </summary>
    public bool CompleteHandshake(X509Certificate2? certificate)
    {
        if (PinnedEdge is not null || (certificate is not null && _identity is null && IsPinnedEdge(certificate)))
        {
            return true;
        }

        if (_identity is null || !ReferenceEquals(_identity.Certificate, certificate))
        {
            if (certificate is not null)
            {
                _presented ??= ResumedSessionIntermediates.Recall(certificate);
            }

            _identity = certificate is null ? ClientIdentity.None : Track(Judged(TrustStore, certificate, _time.GetUtcNow()));
        }

        return !_rejectAtHandshake || _identity.IsValid || IsAddressEdge();
    }

    /// <summary>
    /// A certificate whose SHA-256 is an edge's pin, inside its own validity period, makes this an edge
    /// connection: the TLS handshake proved possession of its key; the pin (not the trust store) is what
    /// vouches for it, so a CA the clients' trust store does not hold is fine and it never becomes a client.
    /// </summary>
    private bool IsPinnedEdge(X509Certificate2 certificate)
    {
        if (Edges.HasPins && Edges.ByCertificate(certificate) is { } edge)
        {
            var now = _time.GetUtcNow().UtcDateTime;
            if (now >= certificate.NotBefore.ToUniversalTime() && now < certificate.NotAfter.ToUniversalTime())
            {
                PinnedEdge = edge;
                _identity = ClientIdentity.None;
                return true;
            }
        }

        return false;
    }

    /// <summary>A connection from an address-only edge's networks is the edge's: not refused at the handshake for its own certificate.</summary>
    private bool IsAddressEdge() =>
        !Edges.IsEmpty && Edges.ByAddress((Connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address) is not null;

    /// <summary>The identity judged against another trust store (a policy may name its own); computed once per connection.</summary>
    public ClientIdentity IdentityFor(TrustStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var identity = Identity;
        if (ReferenceEquals(store, TrustStore) || identity.Certificate is null)
        {
            return identity;
        }

        foreach (var (known, other) in Volatile.Read(ref _others))
        {
            if (ReferenceEquals(known, store))
            {
                return other;
            }
        }

        var computed = Judged(store, identity.Certificate, _time.GetUtcNow());
        lock (_othersLock)
        {
            Track(computed);
            _others = [.. _others, (store, computed)];
        }

        return computed;
    }

    /// <summary>
    /// Called once per request before the identity is read. Returns false when the connection is
    /// older than <paramref name="maxLifetime"/> (the caller denies and closes it). Otherwise, when a
    /// verdict the connection holds has run out (a certificate of the chain past notAfter, a CRL past
    /// nextUpdate + grace), re-judges it against the same trust store at the current time. The common
    /// path is one clock read and one or two integer comparisons, with no allocation.
    /// </summary>
    public bool Refresh(TimeSpan? maxLifetime)
    {
        var now = _time.GetUtcNow();
        var ticks = now.UtcTicks;
        if (maxLifetime is { } max && ticks - _openedTicks >= max.Ticks)
        {
            return false;
        }

        if (ticks >= Volatile.Read(ref _earliestValidUntil))
        {
            Rejudge(now);
        }

        return true;
    }

    /// <summary>
    /// Asks Kestrel to close the connection gracefully once the current response is written: HTTP/1.1
    /// ends keep-alive, HTTP/2 sends GOAWAY (Kestrel's <see cref="IConnectionLifetimeNotificationFeature"/>,
    /// used by its own graceful shutdown).
    /// </summary>
    public void RequestClose() => Connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();

    private void Rejudge(DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        lock (_othersLock)
        {
            if (_identity is { Certificate: { } certificate } current && current.ValidUntilTicks <= ticks)
            {
                Volatile.Write(ref _identity, Judged(TrustStore, certificate, now));
            }

            var earliest = _identity?.ValidUntilTicks ?? long.MaxValue;
            var others = _others;
            var next = others;
            for (var i = 0; i < others.Length; i++)
            {
                var (store, other) = others[i];
                if (other.ValidUntilTicks <= ticks && other.Certificate is { } certificate2)
                {
                    if (ReferenceEquals(next, others))
                    {
                        next = [.. others];
                    }

                    next[i] = (store, Judged(store, certificate2, now));
                }

                earliest = Math.Min(earliest, next[i].Identity.ValidUntilTicks);
            }

            Volatile.Write(ref _others, next);
            Volatile.Write(ref _earliestValidUntil, earliest);
        }
    }

    private ClientIdentity Judged(TrustStore store, X509Certificate2 certificate, DateTimeOffset at)
    {
        var judgement = ChainValidator.Judge(store, certificate, _presented, at);
        return new ClientIdentity(certificate, judgement.Reason, judgement.ValidUntil);
    }

    private ClientIdentity Track(ClientIdentity identity)
    {
        var ticks = identity.ValidUntilTicks;
        var seen = Volatile.Read(ref _earliestValidUntil);
        while (ticks < seen)
        {
            var previous = Interlocked.CompareExchange(ref _earliestValidUntil, ticks, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }

        return identity;
    }

    /// <summary>
    /// Copies the intermediates the client sent that the store does not hold (SslStream disposes the
    /// chain's certificates after the callback): needed to re-judge the connection after a reload.
    /// </summary>
    private X509Certificate2Collection? PresentedIntermediates(X509Chain chain)
    {
        X509Certificate2Collection? presented = null;
        var elements = chain.ChainElements;
        for (var i = 1; i < elements.Count - 1; i++)
        {
            var certificate = elements[i].Certificate;
            if (!TrustStore.Intermediates.Any(known => known.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span)))
            {
                (presented ??= []).Add(X509CertificateLoader.LoadCertificate(certificate.RawDataMemory.Span));
            }
        }

        return presented;
    }
}
