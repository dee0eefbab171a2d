using Microsoft.Extensions.Logging;
using MtlsGate.Policy;

namespace MtlsGate.Logging;

/// <summary>
/// Every log message of the gateway, source-generated. Event ids: 1xxx start-up and configuration,
/// 2xxx TLS and validation, 3xxx access and decisions, 4xxx management, 5xxx CLI.
/// Never log keys, PEM, whole certificates or query strings; subjects are logged header-encoded.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "MtlsGate listening: gateway {GatewayUrls}, management {ManagementUrl}", EventName = "Listening")]
    public static partial void Listening(ILogger logger, string gatewayUrls, string managementUrl);

    [LoggerMessage(1002, LogLevel.Warning, "Server certificate {Subject} ({Source}) expires {NotAfter:u}: {Days} days left", EventName = "ServerCertificateExpiry")]
    public static partial void ServerCertificateExpiry(ILogger logger, string subject, string source, DateTimeOffset notAfter, int days);

    [LoggerMessage(1003, LogLevel.Information, "Trust store {TrustStore}: {Roots} root(s), {Intermediates} intermediate(s)", EventName = "TrustStoreLoaded")]
    public static partial void TrustStoreLoaded(ILogger logger, string trustStore, int roots, int intermediates);

    [LoggerMessage(3001, LogLevel.Information, "{Method} {Path} route={Route} decision={Decision} reason={Reason} subject={Subject} sha256={Fingerprint} source={Source} status={Status} in {ElapsedMs:0.0} ms", EventName = "Access")]
    public static partial void Access(ILogger logger, string method, string path, string route, string decision, string reason, string subject, string fingerprint, string source, int status, double elapsedMs);

    [LoggerMessage(3002, LogLevel.Warning, "Would deny ({Reason}) {Method} {Path} route={Route} policy={Policy} sha256={Fingerprint}: log-only mode, forwarded", EventName = "WouldDeny")]
    public static partial void WouldDeny(ILogger logger, DenyReason reason, string method, string path, string route, string policy, string fingerprint);

    [LoggerMessage(3100, LogLevel.Information, "{Method} {Path} refused with {Status}: {Problem} in the request target (the query is not logged)", EventName = "RequestTargetRefused")]
    public static partial void RequestTargetRefused(ILogger logger, string problem, string method, string path, int status);

    [LoggerMessage(3101, LogLevel.Information, "Connection {ConnectionId} sha256={Fingerprint}: TLS renegotiation attempt refused, connection closed", EventName = "RenegotiationRefused")]
    public static partial void RenegotiationRefused(ILogger logger, string connectionId, string fingerprint);

    [LoggerMessage(3102, LogLevel.Information, "Management request refused with {Status}: Host '{Host}' is neither loopback, an IP literal nor listed in MtlsGate:Management:AllowedHosts", EventName = "ManagementHostRefused")]
    public static partial void ManagementHostRefused(ILogger logger, string host, int status);

    [LoggerMessage(1010, LogLevel.Information, "Reloaded: {TrustStores} trust store(s), {Policies} polic(ies) now in effect", EventName = "ReloadSucceeded")]
    public static partial void ReloadSucceeded(ILogger logger, int trustStores, int policies);

    [LoggerMessage(1011, LogLevel.Error, "Reload refused, the last good state stays in effect ({Count} error(s)): {Errors}", EventName = "ReloadFailed")]
    public static partial void ReloadFailed(ILogger logger, int count, string errors);

    [LoggerMessage(1012, LogLevel.Warning, "Listen addresses or limits changed: they take effect at the next restart", EventName = "ReloadNeedsRestart")]
    public static partial void ReloadNeedsRestart(ILogger logger);

    [LoggerMessage(1120, LogLevel.Error, "YARP did not take the routes and clusters of the configuration in force; it keeps serving its previous ones, each judged with the configuration that built it: {Error}", EventName = "ProxyConfigNotApplied")]
    public static partial void ProxyConfigNotApplied(ILogger logger, string error);

    [LoggerMessage(1020, LogLevel.Information, "CRL fetched from {Url} ({Bytes} bytes), verified and cached", EventName = "CrlFetched")]
    public static partial void CrlFetched(ILogger logger, string url, int bytes);

    [LoggerMessage(1021, LogLevel.Error, "CRL from {Url} rejected, the last good one stays: {Errors}", EventName = "CrlFetchRejected")]
    public static partial void CrlFetchRejected(ILogger logger, string url, string errors);

    [LoggerMessage(1022, LogLevel.Warning, "CRL fetch from {Url} failed, the last good one stays: {Error}", EventName = "CrlFetchFailed")]
    public static partial void CrlFetchFailed(ILogger logger, string url, string error);

    [LoggerMessage(1023, LogLevel.Error, "CRL of {Issuer} ({Source}) is past nextUpdate {NextUpdate:u} beyond the grace: certificates it covers are refused (RevocationUnknown)", EventName = "CrlStale")]
    public static partial void CrlStale(ILogger logger, string issuer, string source, DateTimeOffset nextUpdate);

    [LoggerMessage(1140, LogLevel.Error, "CRL from {Source} refused, the CRL in force stays: {Reason}", EventName = "CrlRollbackRefused")]
    public static partial void CrlRollbackRefused(ILogger logger, string source, string reason);

    [LoggerMessage(1030, LogLevel.Warning, "{Kind} {Subject} ({Fingerprint}) expires {NotAfter:u}: {Days} day(s) left", EventName = "CertificateExpiring")]
    public static partial void CertificateExpiring(ILogger logger, string kind, string subject, string fingerprint, DateTimeOffset notAfter, int days);
}
