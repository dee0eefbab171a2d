using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace MtlsGate.Proxy;

/// <summary>
/// Removes, from the client's request, every header a backend could take for the gateway's word:
/// client-certificate headers of every proxy we know, forwarding headers, and the identity headers
/// of authenticating proxies that backends are told to trust (Authelia/Authentik <c>Remote-*</c>,
/// oauth2-proxy <c>X-Auth-Request-*</c> and <c>X-Forwarded-User</c>/<c>-Email</c>/<c>-Groups</c>/<c>-Preferred-Username</c>,
/// Azure App Service <c>X-MS-Client-Principal*</c>, AWS ALB mTLS <c>X-Amzn-Mtls-*</c>, nginx/Apache
/// <c>Ssl-Client-*</c>): the gateway sets its own client-certificate and forwarding headers and no
/// identity header of another proxy, so none may come from a client. Matching ignores case;
/// duplicates go with the name.
/// </summary>
public static class HeaderSanitizer
{
    private static readonly FrozenSet<string> ExactNames = new[]
    {
        "X-Forwarded-Client-Cert", "Client-Cert", "Client-Cert-Chain", "X-ARR-ClientCert", "X-Real-IP",
        "Forwarded", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "X-Original-For",
        "X-Client-Verify", "X-Client-DN", "X-Client-Fingerprint",
        // Authenticating proxies' identity headers (the X-Forwarded-User family is covered by the X-Forwarded- prefix).
        "Remote-User", "Remote-Email", "Remote-Groups", "Remote-Name", "X-Remote-User",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly string[] Prefixes =
    [
        "X-Client-Cert", "X-SSL-Client", "X-SSL-Cert", "X-Forwarded-", "Cf-Client-Cert", "X-Forwarded-Tls-Client-Cert",
        "X-Tls-Client", "X-MtlsGate-",
        "X-Auth-Request-", "Ssl-Client-", "X-Amzn-Mtls-", "X-MS-Client-Principal",
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
