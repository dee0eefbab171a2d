using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using MtlsGate.Policy;

namespace MtlsGate.Tls;

/// <summary>
/// Per-connection state: the client identity, computed once at the handshake against the trust
/// snapshot of that moment, and read by every request of the connection (HTTP/1.1 keep-alive or
/// HTTP/2 streams) without another chain build.
/// </summary>
public sealed class ConnectionIdentityFeature
{
    private readonly TimeProvider _time;
    private readonly bool _rejectAtHandshake;
    private ClientIdentity? _identity;
    private (TrustStore Store, ClientIdentity Identity)[] _others = [];
    private readonly Lock _othersLock = new();
    private X509Certificate2Collection? _presented;

    public ConnectionIdentityFeature(ConnectionContext connection, TrustStore trustStore, bool rejectAtHandshake, TimeProvider time)
    {
        Connection = connection;
        TrustStore = trustStore;
        _rejectAtHandshake = rejectAtHandshake;
        _time = time;
    }

    /// <summary>The transport connection (used to close it whole, e.g. for a silent-close denial).</summary>
    public ConnectionContext Connection { get; }

    /// <summary>Set when a denial closed the connection on purpose: no close_notify either (zero bytes).</summary>
    public bool ClosedByPolicy { get; set; }

    /// <summary>The configured host (SNI) this connection was established for; null for the top-level default.</summary>
    public string? HostName { get; init; }

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
            return !_rejectAtHandshake;
        }

        TrustStore.CountValidation();
        var verdict = chain is null ? DenyReason.Untrusted : ChainValidator.Verdict(TrustStore, chain, leaf, _time.GetUtcNow());
        _identity = new ClientIdentity(leaf, verdict);
        _presented = chain is null ? null : PresentedIntermediates(chain);
        return !_rejectAtHandshake || _identity.IsValid;
    }

    /// <summary>
    /// Called once the handshake is done. A resumed TLS session may carry the first session's
    /// certificate without the callback running: validate it now, against the current trust material.
    /// Returns false when the connection must be dropped (reject-at-handshake mode).
    /// </summary>
    public bool CompleteHandshake(X509Certificate2? certificate)
    {
        if (_identity is null || !ReferenceEquals(_identity.Certificate, certificate))
        {
            _identity = certificate is null
                ? ClientIdentity.None
                : new ClientIdentity(certificate, ChainValidator.Validate(TrustStore, certificate, null, _time.GetUtcNow()));
        }

        return !_rejectAtHandshake || _identity.IsValid;
    }

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

        var computed = new ClientIdentity(identity.Certificate, ChainValidator.Validate(store, identity.Certificate, _presented, _time.GetUtcNow()));
        lock (_othersLock)
        {
            _others = [.. _others, (store, computed)];
        }

        return computed;
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
