using Microsoft.Extensions.Logging;

namespace MtlsGate.Logging;

// The device inventory, its store and the block list: event ids 1500-1539 (store, writer, actions) and
// 3400-3409 (decisions from the block list). Fingerprints and encoded subjects only; a PostgreSQL
// connection string is never logged (it may hold a password): the store is named by kind and host/database or file.
internal static partial class Log
{
    [LoggerMessage(1500, LogLevel.Information, "Device store {Kind} at {Store}: schema version {Version}; block list read every {PollInterval}", EventName = "DeviceStoreReady")]
    public static partial void DeviceStoreReady(ILogger logger, string kind, string store, int version, TimeSpan pollInterval);

    [LoggerMessage(1501, LogLevel.Error, "Device store {Kind} at {Store} is unavailable: {Error}. Requests are still served, decided with {BlockList}; retrying every {Interval}", EventName = "DeviceStoreUnavailable")]
    public static partial void DeviceStoreUnavailable(ILogger logger, string kind, string store, string error, string blockList, TimeSpan interval);

    [LoggerMessage(1502, LogLevel.Information, "Device store {Kind} at {Store} is available again (down for {Duration})", EventName = "DeviceStoreRecovered")]
    public static partial void DeviceStoreRecovered(ILogger logger, string kind, string store, TimeSpan duration);

    [LoggerMessage(1503, LogLevel.Warning, "Device inventory full: {Count} observation(s) of new devices dropped since the last report (MtlsGate:Store:MaxPendingDevices is {Max}); decisions are not affected", EventName = "InventoryDropped")]
    public static partial void InventoryDropped(ILogger logger, long count, int max);

    [LoggerMessage(1504, LogLevel.Warning, "Device inventory: {Count} device(s) could not be written ({Error}); kept in memory for the next attempt", EventName = "InventoryWriteFailed")]
    public static partial void InventoryWriteFailed(ILogger logger, int count, string error);

    [LoggerMessage(1505, LogLevel.Warning, "Device sha256={Fingerprint} is now {Status} (by {Actor})", EventName = "DeviceStatusChanged")]
    public static partial void DeviceStatusChanged(ILogger logger, string fingerprint, string status, string actor);

    [LoggerMessage(1506, LogLevel.Information, "Device sha256={Fingerprint} revoked in the CRL of {CaFolder} ({Result}); the gateway reloads it like any CRL change", EventName = "DeviceRevokedInCrl")]
    public static partial void DeviceRevokedInCrl(ILogger logger, string fingerprint, string caFolder, string result);

    [LoggerMessage(1507, LogLevel.Error, "Device sha256={Fingerprint}: the CRL in {CaFolder} could not be re-signed: {Error}; the device is denied by the store's status all the same", EventName = "DeviceCrlFailed")]
    public static partial void DeviceCrlFailed(ILogger logger, string fingerprint, string caFolder, string error);

    [LoggerMessage(1508, LogLevel.Warning, "Device store schema version {Found} is newer than this gateway's {Known} (a newer replica migrated it); continuing, as migrations only add", EventName = "DeviceStoreNewerSchema")]
    public static partial void DeviceStoreNewerSchema(ILogger logger, int found, int known);

    [LoggerMessage(1509, LogLevel.Information, "Device inventory: {Count} device(s) written at shutdown", EventName = "InventoryFinalFlush")]
    public static partial void InventoryFinalFlush(ILogger logger, int count);

    [LoggerMessage(1510, LogLevel.Error, "Device inventory: {Count} device(s) not written at shutdown: {Error}", EventName = "InventoryFinalFlushFailed")]
    public static partial void InventoryFinalFlushFailed(ILogger logger, int count, string error);

    [LoggerMessage(3400, LogLevel.Information, "Block list: {Blocked} blocked and {Revoked} revoked device(s) in force (was {Previous})", EventName = "BlockListChanged")]
    public static partial void BlockListChanged(ILogger logger, int blocked, int revoked, int previous);
}
