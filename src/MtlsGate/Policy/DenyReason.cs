namespace MtlsGate.Policy;

/// <summary>
/// Why a request is (or would be) denied. The reason goes to the log and metrics, never to the client.
/// The names are part of the configuration contract (<c>DenyByReason</c> keys): add, don't rename.
/// </summary>
public enum DenyReason
{
    /// <summary>Not denied.</summary>
    None = 0,
    /// <summary>No client certificate was presented.</summary>
    NoCertificate,
    /// <summary>The certificate does not chain to a root of the trust store (or a signature is wrong).</summary>
    Untrusted,
    /// <summary>The leaf or a CA in its chain is past its notAfter.</summary>
    Expired,
    /// <summary>The leaf or a CA in its chain is before its notBefore.</summary>
    NotYetValid,
    /// <summary>The leaf carries an extended key usage without clientAuth.</summary>
    WrongUsage,
    /// <summary>The chain breaks a structural rule: basic constraints, path length, key usage, critical extension.</summary>
    InvalidChain,
    /// <summary>The certificate is revoked (CRL or the configured deny-list).</summary>
    Revoked,
    /// <summary>The issuer's CRL is past nextUpdate (beyond the configured grace): revocation status unknown, fail closed.</summary>
    RevocationUnknown,
    /// <summary>The certificate is valid but not on the policy's identity allow-list.</summary>
    IdentityNotAllowed,
    /// <summary>The client network is not allowed.</summary>
    NetworkNotAllowed,
    /// <summary>The request's host does not belong to the TLS connection's host.</summary>
    HostMismatch,
    /// <summary>The certificate may not use this HTTP method (a read-only identity).</summary>
    MethodNotAllowed,
    /// <summary>The client's country is not allowed.</summary>
    CountryNotAllowed,
    /// <summary>Country rules apply but the client's country is unknown.</summary>
    CountryUnknown,
    /// <summary>No route matches the request (answered exactly like a denial).</summary>
    NoRoute,
    /// <summary>The connection is older than <c>MtlsGate:Limits:MaxConnectionLifetime</c>: this request is denied and the connection closed.</summary>
    ConnectionLifetimeExceeded,
    /// <summary>The certificate's device is blocked in the device inventory (block list; revoked there: <see cref="Revoked"/>).</summary>
    Blocked,
    /// <summary>
    /// A certificate forwarded by an authenticated edge (<c>MtlsGate:Edges</c>) could not be read: not
    /// the edge's format, not base64, not DER, over the size or chain-length cap.
    /// </summary>
    ForwardedCertificateInvalid,
}
