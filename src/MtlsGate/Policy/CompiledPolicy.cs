namespace MtlsGate.Policy;

public enum Requirement
{
    /// <summary>A certificate valid against the policy's trust store (the default).</summary>
    Certificate,
    /// <summary>Nothing: a public path.</summary>
    None,
    /// <summary>A valid certificate (as <see cref="Certificate"/>) or a valid gateway login session (<see cref="RequestFacts.Session"/>).</summary>
    CertificateOrLogin,
}

public enum EnforcementMode
{
    Enforce,
    LogOnly,
}

/// <summary>A policy after validation: immutable, ready for the pure evaluator. How a denial looks is not its business (see <c>Configuration.PolicyDenials</c>).</summary>
public sealed record CompiledPolicy(
    string Name,
    string TrustStore,
    Requirement Require,
    EnforcementMode Mode)
{
    /// <summary>Any-of allow-list; null = any valid certificate. A matcher with every list empty allows nobody.</summary>
    public IdentityMatcher? Identities { get; init; }

    public IReadOnlyList<MethodRestriction> MethodRestrictions { get; init; } = [];

    /// <summary>Client networks that need no certificate (LAN exemption).</summary>
    public IReadOnlyList<System.Net.IPNetwork> BypassNetworks { get; init; } = [];

    public IReadOnlyList<System.Net.IPNetwork> AllowNetworks { get; init; } = [];

    public IReadOnlyList<System.Net.IPNetwork> DenyNetworks { get; init; } = [];

    /// <summary>ISO codes, upper case.</summary>
    public IReadOnlyList<string> AllowCountries { get; init; } = [];

    public IReadOnlyList<string> DenyCountries { get; init; } = [];

    public bool HasCountryRules => AllowCountries.Count != 0 || DenyCountries.Count != 0;

    /// <summary>Denies every request (reason <see cref="DenyReason.NoRoute"/>), whatever the mode: what a route naming an unknown policy gets.</summary>
    public bool DeniesEverything { get; init; }
}
