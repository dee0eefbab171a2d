using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtlsGate.Logging;

namespace MtlsGate.Devices;

/// <summary>
/// Marks a device enrolled by link as enrolled once it first connects with its certificate (the
/// inventory has counted a request from it). Off the request path: every second, only while links
/// redeemed by this process wait for their device.
/// </summary>
public sealed class EnrollmentWatcher(IServiceProvider services, TimeProvider time, ILogger<EnrollmentWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (EnrollmentEndpoint.EnrollmentsOf(services) is not { } enrollments || services.GetService(typeof(IDeviceStore)) is not IDeviceStore store)
        {
            return;
        }

        try
        {
            await WatchAsync(enrollments, store, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: an exception escaping ExecuteAsync would stop the host (BackgroundServiceExceptionBehavior.StopHost).
        }
    }

    private async Task WatchAsync(Enrollments enrollments, IDeviceStore store, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            foreach (var sha256 in enrollments.AwaitingFirstConnection.ToList())
            {
                try
                {
                    if (await store.GetAsync(sha256, stoppingToken).ConfigureAwait(false) is { } device && device.Allowed + device.Denied > 0)
                    {
                        await store.MarkEnrolledAsync(sha256, device.FirstSeen, stoppingToken).ConfigureAwait(false);
                        enrollments.Enrolled(sha256);
                        Log.DeviceEnrolled(logger, sha256);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.EnrollmentWatcherError(logger, ex.GetType().Name);
                }
            }
        }
    }
}
