using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>The policy a request is judged by, and the trust store its certificate is judged against.</summary>
/// <param name="Policy">The route's policy (or the host's, or the default); a deny-everything policy for an unknown name.</param>
/// <param name="TrustStore">Null only when no trust store applies (a policy with <c>Require: None</c> and no store configured).</param>
public readonly record struct ResolvedPolicy(CompiledPolicy Policy, TrustStore? TrustStore);

/// <summary>
/// The one resolution of (connection host, route policy) → (policy, trust store), used by the request
/// path (the deciding middleware, once per request), <c>check</c>, <c>verify</c> and the tests. Pure: no I/O.
/// </summary>
public static class PolicyResolution
{
    /// <summary>
    /// Policy: the route's <c>MtlsGate.Policy</c> when it names one (an unknown name denies everything),
    /// else the connection host's <c>Policy</c>, else <c>Default</c>. Trust store: the connection host's
    /// <c>TrustStore</c> when it has one — a configured host's own CA holds for every request on its
    /// connections, whatever the route says (start-up refuses a route that would say otherwise) — else
    /// the policy's.
    /// </summary>
    /// <param name="snapshot">The configuration in force.</param>
    /// <param name="connectionHost">The configured host (SNI) the TLS connection was made for, or null.</param>
    /// <param name="routePolicyName">The route's <c>MtlsGate.Policy</c> metadata, or null.</param>
    public static ResolvedPolicy For(GatewaySnapshot snapshot, string? connectionHost, string? routePolicyName)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var host = snapshot.HostFor(connectionHost);
        var policy = routePolicyName is not null ? snapshot.PolicyFor(routePolicyName) : host?.Policy ?? snapshot.DefaultPolicy;
        var store = host?.TrustStore ?? (snapshot.TrustStores.TryGetValue(policy.TrustStore, out var own) ? own : null);
        return new ResolvedPolicy(policy, store);
    }

    /// <summary>Whether a policy's trust store matters: <c>Require: None</c> judges no certificate.</summary>
    public static bool UsesTrustStore(CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Require != Requirement.None;
    }
}
