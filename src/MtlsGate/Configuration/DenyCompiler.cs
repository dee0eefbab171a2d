using System.Collections.Frozen;

namespace MtlsGate.Configuration;

/// <summary>A <c>Deny</c> block (or <c>DenyByReason:REASON</c>): a shaped response or a silent close.</summary>
public static class DenyCompiler
{
    private static readonly FrozenSet<int> ClientWipingStatuses = new[] { 401, 403, 407 }.ToFrozenSet();

    private static readonly FrozenSet<string> ForbiddenDenyHeaders = new[]
    {
        "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer", "Server", "Content-Type",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static DenySettings? Compile(DenySection section, string key, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        if (!errors.Enum(section.Action, $"{key}:Action", DenySection.DefaultAction, out var action))
        {
            return null;
        }

        if (action == DenialAction.Close)
        {
            return DenySettings.CloseConnection;
        }

        var ok = true;
        var status = section.Status ?? DenySection.DefaultStatus;
        if (status is < 200 or > 599)
        {
            errors.Add($"{key}:Status", $"{status} is not a final HTTP status (200-599).");
            ok = false;
        }
        else if (ClientWipingStatuses.Contains(status) && !section.AllowClientWipingStatus)
        {
            errors.Add($"{key}:Status", $"{status} is refused: Bitwarden clients log out and delete their offline vault on 401/403 (and 407 is a proxy challenge). Use 404 (default), 429, a 5xx or Action: Close; set {key}:AllowClientWipingStatus: true only if no such client is behind this gateway.");
            ok = false;
        }

        var body = section.Body ?? (section.Status is null || section.Status == DenySettings.DefaultStatus ? DenySettings.DefaultBody : "");
        if (status is 204 or 304 && body.Length != 0)
        {
            errors.Add($"{key}:Body", $"status {status} cannot carry a body.");
            ok = false;
        }

        var contentType = section.ContentType ?? DenySettings.DefaultContentType;
        if (!IsSafeHeaderValue(contentType))
        {
            errors.Add($"{key}:ContentType", "contains a control character.");
            ok = false;
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in section.Headers)
        {
            if (!IsToken(name) || ForbiddenDenyHeaders.Contains(name))
            {
                errors.Add($"{key}:Headers:{name}", $"not an allowed header name (a valid token, not one of {string.Join(", ", ForbiddenDenyHeaders)}).");
                ok = false;
            }
            else if (!IsSafeHeaderValue(value))
            {
                errors.Add($"{key}:Headers:{name}", "the value contains a control character (CR, LF or NUL).");
                ok = false;
            }
            else
            {
                headers.Add(new(name, value));
            }
        }

        return ok ? new DenySettings(DenialAction.Respond, status, contentType, body, headers) : null;
    }

    internal static bool IsToken(string name) =>
        name.Length != 0 && name.All(c => c < 127 && (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)));

    private static bool IsSafeHeaderValue(string value) => !value.Any(c => c < 0x20 && c != '\t' || c == 0x7F);
}
