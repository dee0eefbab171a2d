using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Configuration;

namespace MtlsGate.Devices;

/// <summary>The device inventory's services.</summary>
public static class DevicesSetup
{
    /// <summary>
    /// The store of <c>MtlsGate:Store</c> (as <see cref="IDeviceStore"/> and <see cref="SqlDeviceStore"/>), the
    /// in-memory <see cref="DeviceInventory"/> and <see cref="DeviceBlockList"/> the request path uses,
    /// <see cref="DeviceStoreHealth"/>, <see cref="DeviceActions"/>, and the background
    /// <see cref="DeviceStoreService"/> (migrations, block-list polling, batched writes, flush on shutdown).
    /// </summary>
    public static IServiceCollection AddMtlsGateDevices(this IServiceCollection services, GatewayState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var settings = state.Current.Store;
        services.AddSingleton(_ => DeviceStoreFactory.Open(settings));
        services.AddSingleton<IDeviceStore>(provider => provider.GetRequiredService<SqlDeviceStore>());
        services.AddSingleton(provider => new DeviceInventory(settings.MaxPendingDevices, provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<DeviceBlockList>();
        services.AddSingleton(new DeviceStoreHealth(settings));
        services.AddSingleton<DeviceActions>();
        services.AddSingleton<DeviceStoreService>();
        services.AddHostedService(provider => provider.GetRequiredService<DeviceStoreService>());
        return services;
    }
}
