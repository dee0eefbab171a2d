using System.Collections.Frozen;
using Microsoft.Extensions.Configuration;

namespace MtlsGate.Configuration;

/// <summary>Compiles <c>MtlsGate:Management</c>: the extra host names the management listener answers.</summary>
public static class ManagementCompiler
{
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
