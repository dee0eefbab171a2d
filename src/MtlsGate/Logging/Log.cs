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

    [LoggerMessage(3001, LogLevel.Information, "{Method} {Path} route={Route} decision={Decision} reason={Reason} subject={Subject} sha256={Fingerprint} status={Status} in {ElapsedMs:0.0} ms", EventName = "Access")]
    public static partial void Access(ILogger logger, string method, string path, string route, Outcome decision, DenyReason reason, string subject, string fingerprint, int status, double elapsedMs);

    [LoggerMessage(3002, LogLevel.Warning, "Would deny ({Reason}) {Method} {Path} route={Route} policy={Policy} sha256={Fingerprint}: log-only mode, forwarded", EventName = "WouldDeny")]
    public static partial void WouldDeny(ILogger logger, DenyReason reason, string method, string path, string route, string policy, string fingerprint);
}
