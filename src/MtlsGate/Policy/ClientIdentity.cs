using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Policy;

/// <summary>
/// What the gateway knows about the client certificate of one connection: computed once per
/// connection (at the handshake), immutable afterwards, read by every request on that connection.
/// </summary>
public sealed class ClientIdentity
{
    /// <summary>The identity of a connection that presented no certificate.</summary>
    public static readonly ClientIdentity None = new(null, DenyReason.NoCertificate);

    public ClientIdentity(X509Certificate2? certificate, DenyReason chainVerdict)
    {
        Certificate = certificate;
        ChainVerdict = certificate is null ? DenyReason.NoCertificate : chainVerdict;
        if (certificate is not null)
        {
            Subject = certificate.Subject;
            Issuer = certificate.Issuer;
            Sha256Fingerprint = certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant();
            NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        }
    }

    /// <summary>The presented leaf certificate, or null.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary><see cref="DenyReason.None"/> when the chain is valid against the trust store, else why not.</summary>
    public DenyReason ChainVerdict { get; }

    public bool IsValid => ChainVerdict == DenyReason.None;

    /// <summary>Subject DN as .NET renders it (may contain any character: encode before use in headers).</summary>
    public string Subject { get; } = "";

    public string Issuer { get; } = "";

    /// <summary>Lower-case hex SHA-256 of the DER certificate.</summary>
    public string Sha256Fingerprint { get; } = "";

    public DateTimeOffset NotAfter { get; }
}
