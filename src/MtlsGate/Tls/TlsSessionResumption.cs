using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace MtlsGate.Tls;

/// <summary>
/// Which connections may resume a TLS session, and which cipher suites a connection may use.
/// </summary>
/// <remarks>
/// .NET 10 on Linux keeps one OpenSSL SSL_CTX per server certificate chain (plus protocols and
/// "ALPN present"), process-wide, and only for connections with <c>AllowTlsResume</c> and no
/// <see cref="CipherSuitesPolicy"/>; its session cache and ticket keys belong to that SSL_CTX
/// (System.Net.Security Interop.OpenSsl, SslContextCacheKey; docs/research/dotnet-tls-resumption.md §1).
/// OpenSSL resumes a session whatever the SNI of the new connection (ssl/statem/extensions_srvr.c:
/// "In TLSv1.3 we always use the SNI value from the handshake"), so two hosts sharing one
/// certificate share sessions. To keep a session to the host it was made for, each certificate
/// chain has one owner for the life of the process: the first host (or the top-level default)
/// that claims it. Only the owner's connections use the cached SSL_CTX; every other host using the
/// same certificate gets <c>AllowTlsResume = false</c>, i.e. an uncached SSL_CTX with no session cache,
/// no tickets and its own session-id context, on which no foreign session resumes
/// (OpenSSL ssl/ssl_sess.c ssl_get_prev_session: a session-id context mismatch is a cache miss).
/// Ownership never moves (not even on a reload that removes the owner), because the SSL_CTX and
/// its sessions outlive the configuration that created them.
/// Whatever resumes is judged again: <see cref="ConnectionIdentityFeature.CompleteHandshake"/> runs on
/// every connection against the trust store of now.
/// </remarks>
public static class TlsSessionResumption
{
    /// <summary>The owner name of the top-level (no SNI or an unlisted name) settings.</summary>
    public const string DefaultOwner = "(default)";

    /// <summary>
    /// TLS 1.3 suites and ECDHE + AEAD for TLS 1.2: no CBC, no RSA key exchange, no SHA-1 MAC. The same
    /// list as openssl-mtlsgate.cnf; a connection that negotiated anything else is refused.
    /// </summary>
    public static readonly FrozenSet<TlsCipherSuite> AllowedCipherSuites = new[]
    {
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    }.ToFrozenSet();

    private static readonly ConditionalWeakTable<SslStreamCertificateContext, string> ChainKeys = new();
    private static readonly ConcurrentDictionary<string, string> Owners = new(StringComparer.Ordinal);

    /// <summary>Whether a connection that negotiated <paramref name="suite"/> may carry requests.</summary>
    public static bool IsAllowedCipherSuite(TlsCipherSuite? suite) => suite is { } known && AllowedCipherSuites.Contains(known);

    /// <summary>
    /// Whether connections for <paramref name="owner"/> (a host name, or <see cref="DefaultOwner"/>)
    /// presenting <paramref name="certificate"/> may use and issue resumable sessions: true for the
    /// first owner to ask about this certificate chain, for the rest of the process's life.
    /// </summary>
    public static bool Claim(SslStreamCertificateContext certificate, string owner)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(owner);
        var key = ChainKeys.GetValue(certificate, ChainKey);
        return string.Equals(Owners.GetOrAdd(key, owner), owner, StringComparison.Ordinal);
    }

    /// <summary>The certificate chain as .NET keys its SSL_CTX cache: the target certificate and every intermediate.</summary>
    private static string ChainKey(SslStreamCertificateContext context)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(context.TargetCertificate.RawDataMemory.Span);
        foreach (var intermediate in context.IntermediateCertificates)
        {
            hash.AppendData(SHA256.HashData(intermediate.RawDataMemory.Span));
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
