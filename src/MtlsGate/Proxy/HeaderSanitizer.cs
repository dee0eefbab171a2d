using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace MtlsGate.Proxy;

/// <summary>
/// Removes, from the client's request, every header a backend could take for the gateway's word:
/// client-certificate headers of every proxy we know, and forwarding headers. The gateway then sets
/// its own. Matching ignores case; duplicates go with the name.
/// </summary>
public static class HeaderSanitizer
{
    private static readonly FrozenSet<string> ExactNames = new[]
    {
        "X-Forwarded-Client-Cert", "Client-Cert", "Client-Cert-Chain", "X-ARR-ClientCert", "X-Real-IP",
        "Forwarded", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "X-Original-For",
        "X-MS-Client-Principal", "Ssl-Client-Cert", "X-Client-Verify", "X-Client-DN", "X-Client-Fingerprint",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly string[] Prefixes =
    [
        "X-Client-Cert", "X-SSL-Client", "X-SSL-Cert", "X-Forwarded-", "Cf-Client-Cert", "X-Forwarded-Tls-Client-Cert",
        "X-Tls-Client", "X-MtlsGate-",
    ];

    public static bool IsSpoofable(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (ExactNames.Contains(name))
        {
            return true;
        }

        foreach (var prefix in Prefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True for spoofable names and for any name with an underscore: CGI/PHP/WSGI/Rack backends (and
    /// nginx with underscores_in_headers) read <c>X_Client_Cert</c> as <c>X-Client-Cert</c>, so
    /// underscored names are dropped, as nginx does by default.
    /// </summary>
    public static bool IsDropped(string name) => IsSpoofable(name) || name.Contains('_', StringComparison.Ordinal);

    /// <summary>Strips spoofable headers in place. Allocates only when one is present.</summary>
    public static void Strip(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        List<string>? doomed = null;
        foreach (var header in headers)
        {
            if (IsDropped(header.Key))
            {
                (doomed ??= []).Add(header.Key);
            }
        }

        if (doomed is null)
        {
            return;
        }

        foreach (var name in doomed)
        {
            headers.Remove(name);
        }
    }
}
