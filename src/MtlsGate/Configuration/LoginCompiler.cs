using System.Collections.Frozen;
using System.Net;
using Microsoft.Extensions.Configuration;
using MtlsGate.Policy;

namespace MtlsGate.Configuration;

/// <summary>
/// Compiles <c>MtlsGate:Login</c> into <see cref="LoginSettings"/> (null when the section is absent),
/// and refuses a <c>CertificateOrLogin</c> policy without it. Errors name their key, all at once.
/// </summary>
public static class LoginCompiler
{
    public const string Key = "MtlsGate:Login";

    /// <summary>Data-protection keys in the state directory (created 0700 with the first session).</summary>
    public const string KeysFolder = "login-keys";

    /// <summary>Logged-out session ids, until they would have expired.</summary>
    public const string RevokedFileName = "login-revoked.json";

    public static LoginSettings? Compile(IConfigurationSection raw, LoginSection options, IReadOnlyDictionary<string, CompiledPolicy> policies, string baseDirectory, string stateDirectory, ConfigErrors errors, bool readSecrets = true)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(errors);
        var present = raw.Exists();
        if (!present)
        {
            foreach (var policy in policies.Values.Where(p => p.Require == Requirement.CertificateOrLogin))
            {
                errors.Add($"MtlsGate:Policies:{policy.Name}:Require", $"CertificateOrLogin needs {Key} (at least Oidc, or BitwardenApps for certificate-started sessions).");
            }

            return null;
        }

        var before = errors.Count;
        var oidc = Oidc(raw.GetSection("Oidc"), options.Oidc, baseDirectory, errors, readSecrets);
        if (options.SessionLifetime <= TimeSpan.Zero || options.SessionLifetime > TimeSpan.FromDays(400))
        {
            errors.Add($"{Key}:SessionLifetime", $"'{options.SessionLifetime}' must be more than zero and at most 400 days (browsers cap cookies there).");
        }

        var name = options.CookieName ?? "";
        if (!IsCookieName(name))
        {
            errors.Add($"{Key}:CookieName", $"'{name}' is not a cookie name (letters, digits, '_', '.', at most 64; RFC 6265 section 4.1.1 token).");
        }

        if (string.IsNullOrWhiteSpace(options.Allow.GroupsClaim))
        {
            errors.Add($"{Key}:Allow:GroupsClaim", "must name a claim (default 'groups').");
        }

        for (var i = 0; i < options.Allow.Emails.Count; i++)
        {
            if (!options.Allow.Emails[i].Contains('@', StringComparison.Ordinal))
            {
                errors.Add($"{Key}:Allow:Emails:{i}", $"'{options.Allow.Emails[i]}' is not an e-mail address.");
            }
        }

        if (errors.Count != before)
        {
            return null;
        }

        var allow = new LoginAllowList(
            options.Allow.Emails.Select(e => e.Trim()).ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            options.Allow.Subjects.Where(s => s.Length != 0).ToFrozenSet(StringComparer.Ordinal),
            options.Allow.Groups.Where(g => g.Length != 0).ToFrozenSet(StringComparer.Ordinal),
            options.Allow.GroupsClaim);
        return new LoginSettings(oidc, allow, options.SessionLifetime, name, options.BitwardenApps,
            Path.Combine(stateDirectory, KeysFolder), Path.Combine(stateDirectory, RevokedFileName));
    }

    private static OidcSettings? Oidc(IConfigurationSection raw, OidcSection section, string baseDirectory, ConfigErrors errors, bool readSecret)
    {
        const string key = Key + ":Oidc";
        if (!raw.Exists())
        {
            return null;
        }

        var before = errors.Count;
        Uri? authority = null;
        if (string.IsNullOrWhiteSpace(section.Authority))
        {
            errors.Add($"{key}:Authority", "required (the identity provider's issuer URL, e.g. https://auth.example.com).");
        }
        else if (!Uri.TryCreate(section.Authority, UriKind.Absolute, out authority) || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp)
                 || !string.IsNullOrEmpty(authority.Query) || !string.IsNullOrEmpty(authority.Fragment) || !string.IsNullOrEmpty(authority.UserInfo))
        {
            errors.Add($"{key}:Authority", $"'{section.Authority}' is not an https URL without query, fragment or user info.");
        }
        else if (authority.Scheme == Uri.UriSchemeHttp && !IsLoopback(authority))
        {
            // Metadata, keys and tokens over plain HTTP could be changed on the way: only a provider on this machine.
            errors.Add($"{key}:Authority", $"'{section.Authority}' uses http; only a loopback address (127.0.0.1, ::1, localhost) may, anything else needs https.");
        }

        if (string.IsNullOrWhiteSpace(section.ClientId))
        {
            errors.Add($"{key}:ClientId", "required (the client id registered at the identity provider).");
        }

        var secret = section.ClientSecret;
        if (section.ClientSecret is not null && section.ClientSecretFile is not null)
        {
            errors.Add($"{key}:ClientSecretFile", "give ClientSecret or ClientSecretFile, not both.");
        }
        else if (section.ClientSecretFile is not null && readSecret)
        {
            // Only the server reads it: `verify` needs trust material and policies, not the secret.
            var path = ConfigCompiler.ResolvePath(baseDirectory, section.ClientSecretFile);
            try
            {
                secret = File.ReadAllText(path).TrimEnd('\r', '\n');
                if (secret.Length == 0)
                {
                    errors.Add($"{key}:ClientSecretFile", $"'{path}' is empty.");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{key}:ClientSecretFile", $"cannot read '{path}': {ex.Message}");
            }
        }

        var scopes = section.Scopes.Count == 0 ? OidcSection.DefaultScopes : section.Scopes;
        if (!scopes.Contains("openid", StringComparer.Ordinal))
        {
            errors.Add($"{key}:Scopes", "must include 'openid'.");
        }

        if (scopes.Any(s => s.Length == 0 || s.Any(c => c <= ' ' || c == '"' || c == '\\' || c > '~')))
        {
            errors.Add($"{key}:Scopes", "a scope is empty or has a space or control character.");
        }

        return errors.Count != before ? null : new OidcSettings(authority!, section.ClientId!, string.IsNullOrEmpty(secret) ? null : secret, scopes.ToList());
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>A conservative cookie name: RFC 6265 token characters that no parser treats specially.</summary>
    public static bool IsCookieName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-') && !char.IsAsciiDigit(name[^1]);
}
