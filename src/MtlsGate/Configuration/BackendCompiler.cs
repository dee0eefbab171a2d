using System.Collections.Frozen;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>
/// <c>MtlsGate:Backends:CLUSTER</c>: the client certificate (loaded by the server-certificate code:
/// PEM + key or PKCS#12, key matching the certificate), the backend CA bundle (CA certificates only,
/// with a root), the names to check. The key must be a cluster of the same configuration's
/// <c>ReverseProxy:Clusters</c>, every destination of that cluster https://, and the cluster must not
/// also switch certificate validation off.
/// </summary>
public static class BackendCompiler
{
    public static FrozenDictionary<string, BackendTls> Compile(
        Dictionary<string, BackendSection> sections, ProxySnapshot proxy, string baseDirectory, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(errors);
        var backends = new Dictionary<string, BackendTls>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, section) in sections)
        {
            var prefix = $"MtlsGate:Backends:{name}";
            // YARP looks clusters up ignoring case (ProxyConfigManager's cluster dictionary).
            var cluster = proxy.Clusters.FirstOrDefault(c => string.Equals(c.ClusterId, name, StringComparison.OrdinalIgnoreCase));
            if (cluster is null)
            {
                var known = proxy.Clusters.Count == 0 ? "none" : string.Join(", ", proxy.Clusters.Select(c => c.ClusterId));
                errors.Add(prefix, $"no cluster '{name}' in ReverseProxy:Clusters (known: {known}); the key must be a cluster id.");
                continue;
            }

            var names = ServerNames(section, cluster, prefix, errors);
            if (cluster.HttpClient?.DangerousAcceptAnyServerCertificate == true)
            {
                errors.Add(prefix, $"ReverseProxy:Clusters:{cluster.ClusterId}:HttpClient:DangerousAcceptAnyServerCertificate is true, which would switch off the backend verification this entry asks for; remove one of them.");
            }

            ServerCertificate? certificate = null;
            if (section.ClientCertificate is null)
            {
                errors.Add($"{prefix}:ClientCertificate", "required (Path + KeyPath for PEM, or Path + Password for PKCS#12).");
            }
            else
            {
                certificate = ServerCertificateCompiler.Compile(section.ClientCertificate, baseDirectory, $"{prefix}:ClientCertificate", errors);
                if (certificate is not null && !AllowsClientAuth(certificate.Leaf))
                {
                    errors.Add($"{prefix}:ClientCertificate:Path", $"'{certificate.Source}' has an extended key usage without clientAuth ({TrustStore.ClientAuthOid}); a backend would refuse it.");
                    certificate = null;
                }
            }

            List<X509Certificate2> roots = [];
            List<X509Certificate2> intermediates = [];
            string? caBundle = null;
            if (string.IsNullOrWhiteSpace(section.CaBundle))
            {
                if (!section.UseSystemTrust)
                {
                    errors.Add($"{prefix}:CaBundle", "required (a PEM file with the CA that issued the backend's server certificate), unless UseSystemTrust is true.");
                }
            }
            else
            {
                caBundle = ConfigCompiler.ResolvePath(baseDirectory, section.CaBundle);
                if (TrustStoreCompiler.LoadCaBundle(caBundle, $"{prefix}:CaBundle", errors) is { } bundle)
                {
                    (roots, intermediates) = bundle;
                }
            }

            if (certificate is not null && !errors.Reported(prefix))
            {
                backends[cluster.ClusterId] = new BackendTls(cluster.ClusterId, certificate, roots, intermediates, section.UseSystemTrust, names, caBundle);
            }
        }

        return backends.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary><c>ServerName</c> when set; else the host of every destination (each must be https://).</summary>
    private static List<string> ServerNames(BackendSection section, Yarp.ReverseProxy.Configuration.ClusterConfig cluster, string prefix, ConfigErrors errors)
    {
        var names = new List<string>();
        foreach (var (id, destination) in cluster.Destinations ?? new Dictionary<string, Yarp.ReverseProxy.Configuration.DestinationConfig>())
        {
            // An unparsable address is reported by YARP's validator under the cluster's key.
            if (!Uri.TryCreate(destination.Address, UriKind.Absolute, out var address))
            {
                continue;
            }

            if (address.Scheme != Uri.UriSchemeHttps)
            {
                errors.Add(prefix, $"destination '{id}' of cluster '{cluster.ClusterId}' is '{destination.Address}': mutual TLS needs https:// destinations.");
                continue;
            }

            names.Add(address.Host.Trim('[', ']'));
        }

        if (section.ServerName is { } serverName)
        {
            if (Uri.CheckHostName(serverName.Trim('[', ']')) is UriHostNameType.Unknown or UriHostNameType.Basic)
            {
                errors.Add($"{prefix}:ServerName", $"'{serverName}' is not a DNS name or IP address.");
            }

            return [serverName.Trim('[', ']')];
        }

        return names.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>No EKU extension allows any use; an EKU extension must list clientAuth.</summary>
    private static bool AllowsClientAuth(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is not { } eku
        || eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(o => o.Value == TrustStore.ClientAuthOid);
}
