namespace MtlsGate.Login;

/// <summary>
/// Where a login returns to: a path on this gateway only. Refused (and replaced by <c>/</c>): anything
/// not starting with a single <c>/</c> (absolute URLs, scheme-relative <c>//host</c>, <c>/\host</c> that
/// browsers read as <c>//host</c> — the WHATWG URL standard treats <c>\</c> as <c>/</c> in special URLs),
/// control characters, and overlong values. The rule of ASP.NET Core's <c>UrlHelper.IsLocalUrl</c>, stricter.
/// </summary>
public static class ReturnUrl
{
    public const int MaxLength = 2048;

    public static string Sanitize(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength || value[0] != '/')
        {
            return "/";
        }

        if (value.Length > 1 && (value[1] == '/' || value[1] == '\\'))
        {
            return "/";
        }

        foreach (var c in value)
        {
            if (c < 0x21 || c == 0x7F || c == '\\')
            {
                return "/";
            }
        }

        return value;
    }

    /// <summary>The login URL for a request that should come back to <paramref name="pathAndQuery"/>.</summary>
    public static string LoginFor(string pathAndQuery) =>
        MtlsGate.Configuration.LoginSettings.LoginPath + "?returnUrl=" + Uri.EscapeDataString(Sanitize(pathAndQuery));
}
