using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Configuration;

/// <summary>
/// Compiled <c>MtlsGate:Backends:CLUSTER</c>: what the gateway presents to the destinations of one
/// cluster and how it verifies them.
/// </summary>
/// <param name="ClusterId">The YARP cluster id.</param>
/// <param name="ClientCertificate">The gateway's client certificate (leaf + intermediates sent in the handshake).</param>
/// <param name="Roots">The only roots a backend certificate may chain to (empty with system trust only).</param>
/// <param name="Intermediates">Intermediates of the CA bundle, used to build the chain but never trusted as anchors.</param>
/// <param name="UseSystemTrust">Also accept chains to the operating system's trust store.</param>
/// <param name="ServerNames">Names the backend certificate must match one of (DNS or IP-address SAN).</param>
/// <param name="CaBundle">The CA bundle file, or null.</param>
public sealed record BackendTls(
    string ClusterId,
    ServerCertificate ClientCertificate,
    IReadOnlyList<X509Certificate2> Roots,
    IReadOnlyList<X509Certificate2> Intermediates,
    bool UseSystemTrust,
    IReadOnlyList<string> ServerNames,
    string? CaBundle)
{
    /// <summary>
    /// Identifies the content (client certificate, CA certificates, names, system trust): the HTTP
    /// client of a cluster is rebuilt when it changes, and only then (a reload that leaves the backend
    /// settings alone keeps the pooled connections). The certificate hash covers its public key, so a
    /// re-keyed certificate is a new version.
    /// </summary>
    public string Version { get; } = string.Join(
        "|",
        new[] { ClientCertificate.Leaf.GetCertHashString(HashAlgorithmName.SHA256), UseSystemTrust ? "system" : "custom" }
            .Concat(Roots.Concat(Intermediates).Select(c => c.GetCertHashString(HashAlgorithmName.SHA256)))
            .Concat(ServerNames));
}
