using Microsoft.Extensions.Logging;

namespace MtlsGate.Logging;

// Mutual TLS to the backend (MtlsGate:Backends), event ids 1200-1219. A partial of Log beside
// Log.cs so the backend messages stay together; same rules: subjects header-encoded, fingerprints,
// never PEM or keys.
internal static partial class Log
{
    [LoggerMessage(1200, LogLevel.Warning, "Backend certificate of cluster {Cluster} refused ({Reason}): subject {Subject} sha256={Fingerprint}; the request gets 502", EventName = "BackendCertificateRejected")]
    public static partial void BackendCertificateRejected(ILogger logger, string cluster, string reason, string subject, string fingerprint);

    [LoggerMessage(1201, LogLevel.Information, "Backend client for cluster {Cluster}: client certificate {Subject} sha256={Fingerprint} (expires {NotAfter:u}), backend trust {Trust}, names {Names}", EventName = "BackendClientCreated")]
    public static partial void BackendClientCreated(ILogger logger, string cluster, string subject, string fingerprint, DateTimeOffset notAfter, string trust, string names);

    [LoggerMessage(1202, LogLevel.Information, "Backend client for cluster {Cluster} replaced: the previous one takes no new requests and is disposed in {Grace} (MtlsGate:Limits:DrainTimeout)", EventName = "BackendClientRetired")]
    public static partial void BackendClientRetired(ILogger logger, string cluster, TimeSpan grace);
}
