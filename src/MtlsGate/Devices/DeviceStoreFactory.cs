using MtlsGate.Configuration;

namespace MtlsGate.Devices;

/// <summary>Opens the store <c>MtlsGate:Store</c> names (no I/O until the first call: the service migrates and retries).</summary>
public static class DeviceStoreFactory
{
    public static SqlDeviceStore Open(StoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Kind == StoreKind.PostgreSql
            ? new PostgresDeviceStore(settings.ConnectionString)
            : new SqliteDeviceStore(settings.ConnectionString);
    }
}
