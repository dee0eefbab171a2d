using System.Collections.Frozen;
using Microsoft.Extensions.Configuration;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Policies:NAME</c> (and the global <c>MtlsGate:Mode</c>): requirement, mode, denials, allow-lists, networks, countries.</summary>
public static class PolicyCompiler
{
    /// <summary>The global roll-out switch: true when <c>MtlsGate:Mode</c> is <c>LogOnly</c>.</summary>
    public static bool GlobalLogOnly(string? mode, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Enum(mode, "MtlsGate:Mode", PolicySection.DefaultMode, out var parsed) && parsed == EnforcementMode.LogOnly;
    }

    /// <summary>
    /// Compiles every policy (and a fail-closed <c>Default</c> if none is configured), and apart from
    /// them each policy's validated denials (the policy itself carries no response shape). Whether
    /// <c>Identities</c> is present at all is read in <c>raw</c>, the <c>MtlsGate:Policies</c> section.
    /// </summary>
    public static (Dictionary<string, CompiledPolicy> Policies, Dictionary<string, PolicyDenials> Denials) Compile(Dictionary<string, PolicySection> sections, IConfigurationSection raw, IReadOnlyDictionary<string, TrustStore> trustStores, bool globalLogOnly, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(trustStores);
        ArgumentNullException.ThrowIfNull(errors);
        if (!sections.ContainsKey(GatewaySnapshot.DefaultName))
        {
            // Fail closed: without a Default policy, the default is "valid certificate, else 404".
            sections = new Dictionary<string, PolicySection>(sections, StringComparer.OrdinalIgnoreCase) { [GatewaySnapshot.DefaultName] = new PolicySection() };
        }

        var policies = new Dictionary<string, CompiledPolicy>(StringComparer.OrdinalIgnoreCase);
        var denials = new Dictionary<string, PolicyDenials>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, section) in sections)
        {
            if (Compile(name, section, raw.GetSection(name), trustStores, globalLogOnly, errors) is { } compiled)
            {
                policies[name] = compiled.Policy;
                denials[name] = compiled.Denials;
            }
        }

        return (policies, denials);
    }

    private static (CompiledPolicy Policy, PolicyDenials Denials)? Compile(string name, PolicySection section, IConfigurationSection raw, IReadOnlyDictionary<string, TrustStore> trustStores, bool globalLogOnly, ConfigErrors errors)
    {
        var key = $"MtlsGate:Policies:{name}";
        var before = errors.Count;
        var trustStore = section.TrustStore ?? PolicySection.DefaultTrustStore;
        errors.Enum(section.Require, $"{key}:Require", PolicySection.DefaultRequire, out var require);
        errors.Enum(section.Mode, $"{key}:Mode", PolicySection.DefaultMode, out var mode);
        if (require != Requirement.None && !trustStores.ContainsKey(trustStore) && (section.TrustStore is not null || trustStores.Count != 0))
        {
            errors.Add($"{key}:TrustStore", $"unknown trust store '{trustStore}' (defined: {string.Join(", ", trustStores.Keys.DefaultIfEmpty("none"))}).");
        }

        var deny = section.Deny is null ? DenySettings.NotFound : DenyCompiler.Compile(section.Deny, $"{key}:Deny", errors);
        var byReason = new Dictionary<DenyReason, DenySettings>();
        foreach (var (reasonName, denySection) in section.DenyByReason)
        {
            var reasonKey = $"{key}:DenyByReason:{reasonName}";
            if (errors.Enum(reasonName, reasonKey, DenyReason.None, out var reason, DenyReason.None)
                && DenyCompiler.Compile(denySection, reasonKey, errors) is { } response)
            {
                byReason[reason] = response;
            }
        }

        // "Identities" present (even as {} or with empty lists) is an allow-list; absent means any valid certificate.
        var identitiesPresent = raw.GetChildren().Any(c => c.Key.Equals(nameof(PolicySection.Identities), StringComparison.OrdinalIgnoreCase));
        var identities = identitiesPresent ? IdentityCompiler.Identities(section.Identities ?? new IdentitiesSection(), $"{key}:Identities", errors) : null;
        var restrictions = new List<MethodRestriction>();
        for (var i = 0; i < section.MethodRestrictions.Count; i++)
        {
            var restrictionKey = $"{key}:MethodRestrictions:{i}";
            var entry = section.MethodRestrictions[i];
            if (entry.Methods.Count == 0 || entry.Methods.Any(m => !DenyCompiler.IsToken(m)))
            {
                errors.Add($"{restrictionKey}:Methods", "give the allowed HTTP methods, e.g. [\"GET\", \"HEAD\"].");
                continue;
            }

            // An entry naming nobody would restrict nobody: a rule that silently does nothing.
            if (IdentityCompiler.NamesNobody(entry))
            {
                errors.Add(restrictionKey, "names no identity (give SubjectCommonNames, Organizations, Fingerprints, … for the certificates to restrict).");
                continue;
            }

            restrictions.Add(new MethodRestriction(IdentityCompiler.Identities(entry, restrictionKey, errors), entry.Methods.Select(m => m.ToUpperInvariant()).ToList()));
        }

        foreach (var (list, listName) in new[] { (section.AllowCountries, "AllowCountries"), (section.DenyCountries, "DenyCountries") })
        {
            foreach (var code in list.Where(c => c.Length != 2 || !c.All(char.IsAsciiLetter)))
            {
                errors.Add($"{key}:{listName}", $"'{code}' is not an ISO 3166 two-letter country code.");
            }
        }

        var bypass = IdentityCompiler.Networks(section.BypassNetworks, $"{key}:BypassNetworks", errors);
        var allow = IdentityCompiler.Networks(section.AllowNetworks, $"{key}:AllowNetworks", errors);
        var denyNetworks = IdentityCompiler.Networks(section.DenyNetworks, $"{key}:DenyNetworks", errors);
        if (errors.Count != before || deny is null)
        {
            return null;
        }

        var policy = new CompiledPolicy(name, trustStore, require, globalLogOnly ? EnforcementMode.LogOnly : mode)
        {
            Identities = identities,
            MethodRestrictions = restrictions,
            BypassNetworks = bypass,
            AllowNetworks = allow,
            DenyNetworks = denyNetworks,
            AllowCountries = section.AllowCountries.Select(c => c.ToUpperInvariant()).ToList(),
            DenyCountries = section.DenyCountries.Select(c => c.ToUpperInvariant()).ToList(),
        };
        return (policy, byReason.Count == 0 && section.Deny is null ? PolicyDenials.Default : new PolicyDenials(deny, byReason.ToFrozenDictionary()));
    }
}
