using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Hosts:NAME</c>: per SNI name, its server certificate, trust store and default policy.</summary>
public static class HostCompiler
{
    /// <summary>Compiles every host. <c>policyNames</c> holds every configured policy name, also those whose compile failed (no second, misleading error).</summary>
    public static Dictionary<string, CompiledHost> Compile(Dictionary<string, HostSection> sections, string baseDirectory, IReadOnlyDictionary<string, TrustStore> trustStores,
        IReadOnlyDictionary<string, CompiledPolicy> policies, IReadOnlySet<string> policyNames, bool server, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentNullException.ThrowIfNull(trustStores);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(policyNames);
        ArgumentNullException.ThrowIfNull(errors);
        var hosts = new Dictionary<string, CompiledHost>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, section) in sections)
        {
            var key = $"MtlsGate:Hosts:{name}";
            if (Uri.CheckHostName(name) != UriHostNameType.Dns || name.Contains('*', StringComparison.Ordinal))
            {
                errors.Add(key, $"'{name}' is not a host name (exact DNS names only; IP literals carry no SNI and use the top-level settings).");
                continue;
            }

            ServerCertificate? certificate = null;
            if (server && section.ServerCertificate is { } certificateSection)
            {
                certificate = ServerCertificateCompiler.Compile(certificateSection, baseDirectory, $"{key}:ServerCertificate", errors);
            }

            TrustStore? store = null;
            if (section.TrustStore is not null && !trustStores.TryGetValue(section.TrustStore, out store))
            {
                errors.Add($"{key}:TrustStore", $"unknown trust store '{section.TrustStore}' (defined: {string.Join(", ", trustStores.Keys)}).");
            }

            CompiledPolicy? policy = null;
            if (section.Policy is not null && !policies.TryGetValue(section.Policy, out policy) && !policyNames.Contains(section.Policy))
            {
                errors.Add($"{key}:Policy", $"unknown policy '{section.Policy}' (defined: {string.Join(", ", policyNames)}).");
            }

            // The host's trust store holds for every request on its connections: a host policy naming
            // another store would read as if it applied. Say so instead of silently overriding it.
            if (store is not null && policy is not null && PolicyResolution.UsesTrustStore(policy) && !policy.TrustStore.Equals(store.Name, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{key}:Policy", $"policy '{policy.Name}' validates against trust store '{policy.TrustStore}', but every request on this host's connections is judged against its own trust store '{store.Name}' ({key}:TrustStore); use a policy with TrustStore '{store.Name}'.");
            }

            hosts[name] = new CompiledHost(name.ToLowerInvariant(), certificate, store, policy);
        }

        return hosts;
    }
}
