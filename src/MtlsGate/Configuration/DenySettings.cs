using System.Collections.Frozen;
using MtlsGate.Policy;

namespace MtlsGate.Configuration;

public enum DenialAction
{
    /// <summary>Answer with the configured status, body and headers.</summary>
    Respond,
    /// <summary>Close the connection without a single byte (HTTP/2: the whole connection, not the stream).</summary>
    Close,
}

/// <summary>
/// A validated <c>Deny</c> block: plain settings, no HTTP types. <c>Denials/</c> encodes them into the
/// bytes on the wire once per snapshot (<c>DenialTable</c>), so the policy floor carries no response shape.
/// </summary>
public sealed record DenySettings(
    DenialAction Action,
    int Status,
    string ContentType,
    string Body,
    IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public const int DefaultStatus = 404;
    public const string DefaultBody = "Not Found";
    public const string DefaultContentType = "text/plain";

    /// <summary>The default: exactly what the gateway answers for a route that does not exist.</summary>
    public static readonly DenySettings NotFound = new(DenialAction.Respond, DefaultStatus, DefaultContentType, DefaultBody, []);

    public static readonly DenySettings CloseConnection = new(DenialAction.Close, 0, "", "", []);
}

/// <summary>A policy's denials: its <c>Deny</c> block and its <c>DenyByReason</c> overrides.</summary>
public sealed record PolicyDenials(DenySettings Deny, IReadOnlyDictionary<DenyReason, DenySettings> ByReason)
{
    /// <summary>A policy without <c>Deny</c> or <c>DenyByReason</c>.</summary>
    public static readonly PolicyDenials Default = new(DenySettings.NotFound, FrozenDictionary<DenyReason, DenySettings>.Empty);
}
