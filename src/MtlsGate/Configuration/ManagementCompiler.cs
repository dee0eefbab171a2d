using System.Collections.Frozen;
using Microsoft.Extensions.Configuration;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>Who may use a TLS management listener: an identity allow-list and the trust store their certificates must chain to.</summary>
public sealed record ManagementAdmins(IdentityMatcher Identities, TrustStore TrustStore);

/// <summary>Compiles <c>MtlsGate:Management</c>: the extra host names the management listener answers, and its admins.</summary>
public static class ManagementCompiler
{
    private const string AdminsKey = "MtlsGate:Management:Admins";

    /// <summary>
    /// <c>Admins</c>, fail closed: an <c>https://</c> management listener needs at least one admin
    /// identity and the <c>Default</c> trust store to check the certificates against; a plain-HTTP one
    /// ignores them (returns null: <c>/admin</c> is then served on loopback only).
    /// </summary>
    public static ManagementAdmins? Admins(ManagementSection options, ListenEndpoint? management, IReadOnlyDictionary<string, TrustStore> trustStores, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(trustStores);
        ArgumentNullException.ThrowIfNull(errors);
        var identities = options.Admins is { } admins ? IdentityCompiler.Identities(admins, AdminsKey, errors) : null;
        if (management is not { IsTls: true })
        {
            return null;
        }

        if (options.Admins is null || IdentityCompiler.NamesNobody(options.Admins))
        {
            errors.Add(AdminsKey, $"required: the management listener '{management.Url}' serves TLS and admits only admin client certificates; list them (e.g. \"SubjectCommonNames\": [\"admin\"]) or use an http:// loopback URL.");
            return null;
        }

        if (!trustStores.TryGetValue(GatewaySnapshot.DefaultName, out var store))
        {
            errors.Add($"MtlsGate:TrustStores:{GatewaySnapshot.DefaultName}:CaBundle", "required: admin client certificates of MtlsGate:Management:Admins are checked against the Default trust store.");
            return null;
        }

        return identities is null ? null : new ManagementAdmins(identities, store);
    }

    private const string Key = "MtlsGate:Management:AllowedHosts";

    /// <summary>Every entry must be a plain DNS name; returned lower-case, without a trailing dot.</summary>
    public static FrozenSet<string> Compile(IConfigurationSection management, ManagementSection options, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(management);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        if (management.GetSection("AllowedHosts").Value is { Length: > 0 } scalar)
        {
            errors.Add($"{Key}: '{scalar}' must be a list of host names, e.g. [\"{scalar}\"].");
            return FrozenSet<string>.Empty;
        }

        var hosts = new List<string>();
        for (var i = 0; i < options.AllowedHosts.Count; i++)
        {
            var entry = options.AllowedHosts[i] ?? "";
            if (Problem(entry) is { } problem)
            {
                errors.Add($"{Key}:{i}: '{entry}' {problem}");
            }
            else
            {
                hosts.Add(entry.TrimEnd('.').ToLowerInvariant());
            }
        }

        return hosts.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    private static string? Problem(string entry)
    {
        if (string.IsNullOrWhiteSpace(entry))
        {
            return "is empty; give a host name such as metrics.internal.";
        }

        if (entry.Contains("://", StringComparison.Ordinal))
        {
            return "is a URL; give only the host name (no scheme).";
        }

        if (entry.Contains('*', StringComparison.Ordinal))
        {
            return "has a wildcard; wildcards are not supported, list each host name.";
        }

        if (entry.Contains(':', StringComparison.Ordinal) || entry.Contains('/', StringComparison.Ordinal))
        {
            return "has a port or path; give only the host name (any port is accepted; loopback and IP literals always are).";
        }

        var name = entry.EndsWith('.') ? entry[..^1] : entry;
        if (name.Length is 0 or > 253 || !name.Split('.').All(IsLabel))
        {
            return "is not a host name (letters, digits, '-' and '_' in dot-separated labels of 1-63 characters).";
        }

        return null;
    }

    // '_' is allowed: Docker Compose service names (the usual scraper's view of the gateway) may contain it.
    private static bool IsLabel(string label) =>
        label.Length is > 0 and <= 63 && label[0] != '-' && label[^1] != '-'
        && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
