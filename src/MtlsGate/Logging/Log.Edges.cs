using Microsoft.Extensions.Logging;

namespace MtlsGate.Logging;

// Forwarded identities from edges (MtlsGate:Edges): event ids 1300-1339 (start-up, configuration,
// operations) and 3200-3219 (request time). Same rules as Log.cs: fingerprints and encoded values,
// never a certificate, PEM or header value.
internal static partial class Log
{
    [LoggerMessage(1300, LogLevel.Information, "Edge {Edge}: listening on {Url} (loopback, plain HTTP); forwarded certificates read as {Format}", EventName = "EdgeListening")]
    public static partial void EdgeListening(ILogger logger, string edge, string url, string format);

    [LoggerMessage(1301, LogLevel.Information, "Edge {Edge}: recognised on the gateway's TLS listener by {Pins} pinned certificate(s) and {Networks} network(s); forwarded certificates read as {Format}", EventName = "EdgeConfigured")]
    public static partial void EdgeConfigured(ILogger logger, string edge, int pins, int networks, string format);

    [LoggerMessage(3200, LogLevel.Warning, "Connection {ConnectionId} from {Address} refused: {Why}", EventName = "EdgeConnectionRefused")]
    public static partial void EdgeConnectionRefused(ILogger logger, string connectionId, string address, string why);

    [LoggerMessage(3201, LogLevel.Debug, "Edge {Edge}: forwarded certificate unreadable (ForwardedCertificateInvalid): {Problem}", EventName = "ForwardedCertificateUnreadable")]
    public static partial void ForwardedCertificateUnreadable(ILogger logger, string edge, string problem);
}
