using Microsoft.Extensions.Logging;

namespace MtlsGate.Logging;

// The admin page, its JSON API and enrolment. Event ids 1540-1579 (actions and configuration) and
// 3410-3419 (requests refused or answered on the public enrolment path). Fingerprints and encoded
// names only: never a token, a password or a .p12.
internal static partial class Log
{
    [LoggerMessage(1540, LogLevel.Information, "Admin {Actor}: {Action} sha256={Fingerprint}", EventName = "AdminAction")]
    public static partial void AdminAction(ILogger logger, string actor, string action, string fingerprint);

    [LoggerMessage(1541, LogLevel.Information, "Admin {Actor}: enrolment created for '{Name}' sha256={Fingerprint}, valid until {ExpiresAt:u}", EventName = "EnrollmentCreated")]
    public static partial void EnrollmentCreated(ILogger logger, string actor, string name, string fingerprint, DateTimeOffset expiresAt);

    [LoggerMessage(1542, LogLevel.Information, "Device enrolled by link first connected: sha256={Fingerprint}", EventName = "DeviceEnrolled")]
    public static partial void DeviceEnrolled(ILogger logger, string fingerprint);

    [LoggerMessage(1543, LogLevel.Warning, "Admin request failed: the device store did not answer ({Error})", EventName = "AdminStoreError")]
    public static partial void AdminStoreError(ILogger logger, string error);

    [LoggerMessage(1544, LogLevel.Warning, "Admin request refused with {Status}: {Problem} ({Method} {Path})", EventName = "AdminRequestRefused")]
    public static partial void AdminRequestRefused(ILogger logger, string problem, string method, string path, int status);

    [LoggerMessage(1545, LogLevel.Warning, "Management TLS connection {ConnectionId} refused: the client certificate (sha256={Fingerprint}) is not an admin of MtlsGate:Management:Admins or does not chain to the Default trust store", EventName = "AdminCertificateRefused")]
    public static partial void AdminCertificateRefused(ILogger logger, string connectionId, string fingerprint);

    [LoggerMessage(1546, LogLevel.Warning, "Enrolment watcher: the device store did not answer ({Error}); retrying", EventName = "EnrollmentWatcherError")]
    public static partial void EnrollmentWatcherError(ILogger logger, string error);

    [LoggerMessage(3410, LogLevel.Information, "Enrolment link redeemed for '{Name}' sha256={Fingerprint} from {Address}: .p12 sent", EventName = "EnrollmentRedeemed")]
    public static partial void EnrollmentRedeemed(ILogger logger, string name, string fingerprint, string address);

    [LoggerMessage(3411, LogLevel.Information, "Enrolment link refused from {Address}: unknown, expired or already used (the token is not logged)", EventName = "EnrollmentRefused")]
    public static partial void EnrollmentRefused(ILogger logger, string address);

    [LoggerMessage(3412, LogLevel.Warning, "Enrolment link refused from {Address}: rate limit ({Scope}) reached", EventName = "EnrollmentRateLimited")]
    public static partial void EnrollmentRateLimited(ILogger logger, string address, string scope);

    [LoggerMessage(3413, LogLevel.Warning, "Enrolment link from {Address}: the device store did not answer ({Error})", EventName = "EnrollmentStoreError")]
    public static partial void EnrollmentStoreError(ILogger logger, string address, string error);
}
