using Microsoft.Extensions.Configuration;
using MtlsGate.Policy;

namespace MtlsGate.Configuration;

/// <summary>
/// What MtlsGate needs of YARP's <c>ReverseProxy</c> section: destinations are URLs, routes name a
/// known cluster and a known policy, and no route's policy contradicts a configured host's trust store.
/// </summary>
public static class RouteCompiler
{
    public static void Validate(IConfigurationSection reverseProxy, IReadOnlyDictionary<string, CompiledPolicy> policies, IReadOnlySet<string> policyNames,
        IReadOnlyDictionary<string, CompiledHost> hosts, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(reverseProxy);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(policyNames);
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(errors);
        var clusters = reverseProxy.GetSection("Clusters");
        foreach (var cluster in clusters.GetChildren())
        {
            foreach (var destination in cluster.GetSection("Destinations").GetChildren())
            {
                var address = destination["Address"];
                if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                {
                    errors.Add($"{destination.Path}:Address", $"'{address}' is not an absolute http:// or https:// URL.");
                }
            }
        }

        foreach (var route in reverseProxy.GetSection("Routes").GetChildren())
        {
            var clusterId = route["ClusterId"];
            if (string.IsNullOrEmpty(clusterId) || !clusters.GetSection(clusterId).Exists())
            {
                errors.Add($"{route.Path}:ClusterId", $"unknown cluster '{clusterId}'.");
            }

            RouteMetadataCompiler.Validate(route, errors);
            var key = $"{route.Path}:Metadata:{ConfigCompiler.PolicyMetadataKey}";
            var name = route[$"Metadata:{ConfigCompiler.PolicyMetadataKey}"];
            if (name is null)
            {
                continue; // the host's policy or Default, with the host's trust store: nothing to contradict
            }

            if (!policyNames.Contains(name))
            {
                errors.Add(key, $"unknown policy '{name}' (defined: {string.Join(", ", policyNames)}).");
                continue;
            }

            if (!policies.TryGetValue(name, out var policy) || !PolicyResolution.UsesTrustStore(policy))
            {
                continue;
            }

            var matchHosts = MatchHosts(route.GetSection("Match:Hosts"));
            foreach (var host in hosts.Values)
            {
                if (host.TrustStore is { } store && !store.Name.Equals(policy.TrustStore, StringComparison.OrdinalIgnoreCase) && CanServe(matchHosts, host.Name))
                {
                    errors.Add(key, $"route '{route.Key}' uses policy '{policy.Name}' (trust store '{policy.TrustStore}') and can serve host '{host.Name}', whose connections are judged against its own trust store '{store.Name}' (MtlsGate:Hosts:{host.Name}:TrustStore). Scope the route away from that host with Match:Hosts, or name a policy whose TrustStore is '{store.Name}'.");
                }
            }
        }
    }

    /// <summary>YARP's <c>Match:Hosts</c>: an array (or, leniently, one value); empty means every host.</summary>
    public static IReadOnlyList<string> MatchHosts(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return section.Value is { Length: > 0 } single
            ? [single]
            : section.GetChildren().Select(c => c.Value).OfType<string>().Where(v => v.Length != 0).ToList();
    }

    /// <summary>
    /// Whether a route with these <c>Match:Hosts</c> can receive a request for <paramref name="host"/>.
    /// Conservative: no list, an exact name (port ignored), a <c>*.suffix</c> wildcard covering it, or any
    /// pattern not understood here all count as "can serve".
    /// </summary>
    public static bool CanServe(IReadOnlyList<string> matchHosts, string host)
    {
        ArgumentNullException.ThrowIfNull(matchHosts);
        ArgumentNullException.ThrowIfNull(host);
        if (matchHosts.Count == 0)
        {
            return true;
        }

        host = host.TrimEnd('.');
        foreach (var raw in matchHosts)
        {
            var pattern = raw.Trim();
            if (pattern.StartsWith('['))
            {
                continue; // an IPv6 literal never equals a DNS name
            }

            var colon = pattern.LastIndexOf(':');
            if (colon >= 0)
            {
                pattern = pattern[..colon];
            }

            pattern = pattern.TrimEnd('.');
            if (pattern.Equals(host, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (pattern.StartsWith("*.", StringComparison.Ordinal) && !pattern[1..].Contains('*', StringComparison.Ordinal))
            {
                if (host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase) && host.Length > pattern.Length - 1)
                {
                    return true;
                }

                continue;
            }

            if (pattern.Contains('*', StringComparison.Ordinal))
            {
                return true; // a pattern YARP may read differently: assume it serves
            }
        }

        return false;
    }
}
