using Microsoft.Extensions.Logging;

namespace MtlsGate.Logging;

// Certificate OR login (MtlsGate:Login, Login/), event ids 1400-1439 and 3300-3319. Subjects and
// e-mails are header-encoded by the caller; a session id is logged, a session cookie never.
internal static partial class Log
{
    [LoggerMessage(1400, LogLevel.Warning, "Login session cookie refused: {Problem} (client {Client})", EventName = "LoginSessionRefused")]
    public static partial void LoginSessionRefused(ILogger logger, string problem, string client);

    [LoggerMessage(1401, LogLevel.Information, "Login: session {SessionId} started for {Subject} <{Email}> by {Method}, until {ExpiresAt:u}", EventName = "LoginSessionStarted")]
    public static partial void LoginSessionStarted(ILogger logger, string sessionId, string subject, string email, string method, DateTimeOffset expiresAt);

    [LoggerMessage(1402, LogLevel.Warning, "Login refused by MtlsGate:Login:Allow: subject {Subject} <{Email}> (email verified: {EmailVerified}), groups {Groups}", EventName = "LoginNotAllowed")]
    public static partial void LoginNotAllowed(ILogger logger, string subject, string email, bool emailVerified, string groups);

    [LoggerMessage(1403, LogLevel.Error, "Login: the identity provider {Authority} is unavailable ({Error}); the login page says so", EventName = "LoginProviderUnavailable")]
    public static partial void LoginProviderUnavailable(ILogger logger, string authority, string error);

    [LoggerMessage(1404, LogLevel.Warning, "Login failed at the callback: {Error}", EventName = "LoginCallbackFailed")]
    public static partial void LoginCallbackFailed(ILogger logger, string error);

    [LoggerMessage(1405, LogLevel.Information, "Logout: session {SessionId} of {Subject} revoked until {ExpiresAt:u}", EventName = "LoginLoggedOut")]
    public static partial void LoginLoggedOut(ILogger logger, string sessionId, string subject, DateTimeOffset expiresAt);

    [LoggerMessage(1406, LogLevel.Error, "Logout: could not record revoked session {SessionId} in {File}: {Error} (refused in this process only)", EventName = "LoginRevocationNotSaved")]
    public static partial void LoginRevocationNotSaved(ILogger logger, string sessionId, string file, string error);

    [LoggerMessage(1407, LogLevel.Error, "Login: revoked sessions file {File} unreadable ({Error}); sessions logged out earlier are not refused", EventName = "LoginRevocationsUnreadable")]
    public static partial void LoginRevocationsUnreadable(ILogger logger, string file, string error);

    [LoggerMessage(1410, LogLevel.Information, "Bitwarden cookie vendor: session {SessionId} handed to the app ({Cookies} cookie(s))", EventName = "VendorAnswered")]
    public static partial void VendorAnswered(ILogger logger, string sessionId, int cookies);

    [LoggerMessage(1411, LogLevel.Information, "Bitwarden cookie vendor: {Status} ({Problem})", EventName = "VendorRefused")]
    public static partial void VendorRefused(ILogger logger, int status, string problem);

    [LoggerMessage(1412, LogLevel.Warning, "Bitwarden bootstrap not injected into /api/config: {Problem}", EventName = "BootstrapNotInjected")]
    public static partial void BootstrapNotInjected(ILogger logger, string problem);
}
