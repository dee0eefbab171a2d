using System.Text;

namespace MtlsGate.Denials;

public enum DenialAction
{
    /// <summary>Answer with the configured status, body and headers.</summary>
    Respond,
    /// <summary>Close the connection without a single byte (HTTP/2: the whole connection, not the stream).</summary>
    Close,
}

/// <summary>A configured denial, compiled once: the body is encoded up front so a denial allocates nothing.</summary>
public sealed record DenialResponse(
    DenialAction Action,
    int Status,
    string ContentType,
    ReadOnlyMemory<byte> Body,
    IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public const int DefaultStatus = 404;
    public const string DefaultBody = "Not Found";
    public const string DefaultContentType = "text/plain";

    /// <summary>The default: exactly what the gateway answers for a route that does not exist.</summary>
    public static readonly DenialResponse NotFound = new(
        DenialAction.Respond, DefaultStatus, DefaultContentType, Encoding.UTF8.GetBytes(DefaultBody), []);

    /// <summary>421: the request's host does not belong to this TLS connection; the client retries on a new one (RFC 9110 15.5.20).</summary>
    public static readonly DenialResponse MisdirectedRequest = new(
        DenialAction.Respond, 421, DefaultContentType, Encoding.UTF8.GetBytes("Misdirected Request"), []);

    public static readonly DenialResponse CloseConnection = new(DenialAction.Close, 0, "", ReadOnlyMemory<byte>.Empty, []);
}
