using MtlsGate.Denials;

namespace MtlsGate.Policy;

public enum Requirement
{
    /// <summary>A certificate valid against the policy's trust store (the default).</summary>
    Certificate,
    /// <summary>Nothing: a public path.</summary>
    None,
}

public enum EnforcementMode
{
    Enforce,
    LogOnly,
}

/// <summary>A policy after validation: immutable, ready for the pure evaluator.</summary>
public sealed record CompiledPolicy(
    string Name,
    string TrustStore,
    Requirement Require,
    EnforcementMode Mode,
    DenialResponse Deny,
    IReadOnlyDictionary<DenyReason, DenialResponse> DenyByReason)
{
    /// <summary>The response for a denial with this reason: the per-reason override, else <see cref="Deny"/>.</summary>
    public DenialResponse ResponseFor(DenyReason reason) =>
        DenyByReason.Count != 0 && DenyByReason.TryGetValue(reason, out var response) ? response : Deny;
}
