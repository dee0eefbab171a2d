namespace MtlsGate.Configuration;

/// <summary>
/// <c>MtlsGate:Backends:CLUSTER</c>: mutual TLS from the gateway to the destinations of one YARP
/// cluster (the key must be a <c>ReverseProxy:Clusters</c> id). A cluster without an entry keeps
/// YARP's default client: its https destinations are verified against the operating system's trust
/// store and no client certificate is sent.
/// </summary>
public sealed class BackendSection
{
    /// <summary>
    /// The certificate the gateway presents to the backend: PEM <c>Path</c> (may hold the chain) with
    /// <c>KeyPath</c>, or PKCS#12 <c>Path</c> (.pfx/.p12) with <c>Password</c>. Required; it must carry
    /// the clientAuth extended key usage when it has an EKU extension. Reloaded on change.
    /// </summary>
    public ServerCertificateSection? ClientCertificate { get; set; }

    /// <summary>
    /// PEM file with the CA certificate(s) the backend's server certificate must chain to (at least one
    /// self-signed root; CA certificates only). Only these are trusted (custom root trust, no download
    /// of missing intermediates, no revocation check). Required unless <see cref="UseSystemTrust"/>.
    /// Reloaded on change.
    /// </summary>
    public string? CaBundle { get; set; }

    /// <summary>
    /// The name the backend's certificate must carry (DNS name, or an IP address for an IP-address SAN).
    /// Default null: the host of the destination addresses of the cluster (an IP literal is matched
    /// against the certificate's IP-address SANs). Set it when the destination is addressed by IP but
    /// the certificate names a host. It is only checked, never sent: the TLS server name (SNI) stays
    /// the request's Host, as for any YARP cluster.
    /// </summary>
    public string? ServerName { get; set; }

    /// <summary>
    /// Also accept a backend certificate that chains to the operating system's trust store. Default
    /// false: only <see cref="CaBundle"/> is trusted (with the system store, any public CA could
    /// issue a certificate for the backend's name).
    /// </summary>
    public bool UseSystemTrust { get; set; }
}
