using System.Text;
using MtlsGate.Configuration;

namespace MtlsGate.Denials;

/// <summary>A configured denial, encoded once per snapshot (<see cref="DenialTable"/>): a denial allocates nothing.</summary>
public sealed record DenialResponse(
    DenialAction Action,
    int Status,
    string ContentType,
    ReadOnlyMemory<byte> Body,
    IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    /// <summary>The default: exactly what the gateway answers for a route that does not exist.</summary>
    public static readonly DenialResponse NotFound = Encode(DenySettings.NotFound);

    /// <summary>421: the request's host does not belong to this TLS connection; the client retries on a new one (RFC 9110 15.5.20).</summary>
    public static readonly DenialResponse MisdirectedRequest = new(
        DenialAction.Respond, 421, DenySettings.DefaultContentType, Encoding.UTF8.GetBytes("Misdirected Request"), []);

    public static readonly DenialResponse CloseConnection = new(DenialAction.Close, 0, "", ReadOnlyMemory<byte>.Empty, []);

    /// <summary>The bytes of validated deny settings; the shared instances for the default and for a close.</summary>
    public static DenialResponse From(DenySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return ReferenceEquals(settings, DenySettings.NotFound) ? NotFound
            : settings.Action == DenialAction.Close ? CloseConnection
            : Encode(settings);
    }

    private static DenialResponse Encode(DenySettings settings) =>
        new(settings.Action, settings.Status, settings.ContentType, Encoding.UTF8.GetBytes(settings.Body), settings.Headers);
}
