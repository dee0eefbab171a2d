using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;

namespace MtlsGate.Devices;

/// <summary>
/// The inventory's background worker, the only code that talks to the store on the gateway's behalf:
/// migrates the schema (retrying until the store answers), reads the block list every
/// <c>PollInterval</c>, writes the drained observations every <c>FlushInterval</c> (a failed batch is kept,
/// merged with the next, bounded by <c>MaxPendingDevices</c>, and written when the store is back), refreshes
/// the expiry counts every 30 s, and writes what is left once the server has stopped (after the drain).
/// The store being down never stops a request: the block list last loaded keeps deciding.
/// </summary>
public sealed class DeviceStoreService : BackgroundService, IHostedLifecycleService
{
    /// <summary>The thresholds of the expiring-device gauges (days).</summary>
    public static readonly IReadOnlyList<int> ExpiryThresholds = [30, 7, 1];

    private static readonly TimeSpan ExpiryRefresh = TimeSpan.FromSeconds(30);

    private readonly SqlDeviceStore _store;
    private readonly DeviceInventory _inventory;
    private readonly DeviceBlockList _blockList;
    private readonly DeviceStoreHealth _health;
    private readonly GatewayState _state;
    private readonly TimeProvider _time;
    private readonly ILogger<DeviceStoreService> _logger;
    private readonly StoreSettings _settings;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private List<DeviceObservation> _unwritten = [];
    private bool _migrated;
    private DateTimeOffset _nextExpiryRefresh = DateTimeOffset.MinValue;
    private int _lastCount = -1;

    public DeviceStoreService(SqlDeviceStore store, DeviceInventory inventory, DeviceBlockList blockList, DeviceStoreHealth health, GatewayState state,
        GatewayMeter meter, TimeProvider time, ILogger<DeviceStoreService> logger)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(meter);
        _store = store;
        _inventory = inventory;
        _blockList = blockList;
        _health = health;
        _state = state;
        _time = time;
        _logger = logger;
        _settings = state.Current.Store;
        var instruments = meter.Meter;
        instruments.CreateObservableGauge("store.up", () => new Measurement<int>(health.Up ? 1 : 0, new KeyValuePair<string, object?>("kind", health.Kind)),
            description: "1 when the device store answered its last call, else 0 (requests are still decided with the last loaded block list).");
        instruments.CreateObservableCounter("inventory.dropped", () => inventory.Dropped,
            description: "Device observations not recorded because the in-memory queue (MtlsGate:Store:MaxPendingDevices) was full.");
        instruments.CreateObservableGauge("devices.expiring", () => health.Expiring.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("within_days", p.Key))),
            description: "Active devices of the inventory whose certificate expires within 30, 7 and 1 days.");
        instruments.CreateObservableGauge("devices.denied", () =>
        {
            var current = blockList.Current.Values;
            return new[]
            {
                new Measurement<int>(current.Count(r => r == Policy.DenyReason.Blocked), new KeyValuePair<string, object?>("status", "Blocked")),
                new Measurement<int>(current.Count(r => r == Policy.DenyReason.Revoked), new KeyValuePair<string, object?>("status", "Revoked")),
            };
        }, description: "Devices in the block list in force, by status.");
    }

    /// <summary>How long start-up waits for the store's first answer (migrations, block list) before serving without it.</summary>
    public static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Migrates and loads the block list before the host reports started (bounded by <see cref="StartupWait"/>):
    /// the gateway is then ready at once with the store's blocks in force; a store that does not answer in
    /// time is retried in the background while requests are served (and /readyz says so).
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(StartupWait);
        try
        {
            await PollOnceAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Failed(new TimeoutException($"no answer within {StartupWait.TotalSeconds:0} s at start-up"));
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var poll = PollLoopAsync(stoppingToken);
        var flush = FlushLoopAsync(stoppingToken);
        await Task.WhenAll(poll, flush).ConfigureAwait(false);
    }

    /// <summary>One poll: migrate if not yet, read the block list, refresh the expiry counts when due. False when the store failed.</summary>
    public async Task<bool> PollOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (!_migrated)
            {
                await _store.MigrateAsync(cancellationToken).ConfigureAwait(false);
                var version = await _store.SchemaVersionAsync(cancellationToken).ConfigureAwait(false);
                if (version > SqlDeviceStore.CurrentVersion)
                {
                    Log.DeviceStoreNewerSchema(_logger, version, SqlDeviceStore.CurrentVersion);
                }

                _health.Migrated(version);
                _migrated = true;
                Log.DeviceStoreReady(_logger, _health.Kind, _health.Display, version, _settings.PollInterval);
            }

            var since = _blockList.Version;
            var denied = await _store.DenyListAsync(cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            if (_blockList.Replace(denied, since))
            {
                _health.BlockListLoaded(now);
                if (denied.Count != _lastCount)
                {
                    var revoked = denied.Values.Count(s => s == DeviceStatus.Revoked);
                    Log.BlockListChanged(_logger, denied.Count - revoked, revoked, Math.Max(_lastCount, 0));
                    _lastCount = denied.Count;
                }
            }

            if (now >= _nextExpiryRefresh)
            {
                var counts = new Dictionary<int, long>();
                foreach (var days in ExpiryThresholds)
                {
                    counts[days] = await _store.CountAsync(new DeviceQuery(DeviceStatus.Active, days, now), cancellationToken).ConfigureAwait(false);
                }

                _health.SetExpiring(counts);
                _nextExpiryRefresh = now + ExpiryRefresh;
            }

            if (_health.Succeeded(now) is { } downFor)
            {
                Log.DeviceStoreRecovered(_logger, _health.Kind, _health.Display, downFor);
            }

            return true;
        }
        catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
        {
            Failed(ex);
            return false;
        }
    }

    /// <summary>One flush: drain the inventory, merge with what is unwritten, write. False when the store failed (the batch is kept).</summary>
    public async Task<bool> FlushOnceAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var geo = _state.Current.GeoIp;
            var fresh = _inventory.Drain(geo is null ? null : geo.CountryOf);
            var batch = _unwritten.Count == 0 ? fresh : DeviceInventory.Merge(_unwritten.Concat(fresh));
            if (batch.Count > _inventory.Capacity)
            {
                // Unwritten while the store is down, and more devices than the bound: keep the most recent.
                _inventory.CountDropped(batch.Count - _inventory.Capacity);
                batch = [.. batch.OrderByDescending(o => o.LastSeen).Take(_inventory.Capacity)];
            }

            if (_inventory.TakeUnreportedDrops() is > 0 and var drops)
            {
                Log.InventoryDropped(_logger, drops, _inventory.Capacity);
            }

            if (batch.Count == 0 || !_migrated)
            {
                _unwritten = batch;
                return _migrated;
            }

            try
            {
                await _store.RecordAsync(batch, cancellationToken).ConfigureAwait(false);
                _unwritten = [];
                if (_health.Succeeded(_time.GetUtcNow(), write: true) is { } downFor)
                {
                    Log.DeviceStoreRecovered(_logger, _health.Kind, _health.Display, downFor);
                }

                return true;
            }
            catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
            {
                _unwritten = batch;
                if (Failed(ex, write: true))
                {
                    // Once per outage, not once per flush: the batch is kept and retried every FlushInterval.
                    Log.InventoryWriteFailed(_logger, batch.Count, ex.Message);
                }

                return false;
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task PollLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_settings.PollInterval, _time);
        do
        {
            await PollOnceAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await Tick(timer, stoppingToken).ConfigureAwait(false));
    }

    private async Task FlushLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_settings.FlushInterval, _time);
        while (await Tick(timer, stoppingToken).ConfigureAwait(false))
        {
            await FlushOnceAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private static async Task<bool> Tick(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Marks the store down; logs (and returns true) only on the transition.</summary>
    private bool Failed(Exception ex, bool write = false)
    {
        if (!_health.Failed(_time.GetUtcNow(), ex.Message, write))
        {
            return false;
        }

        Log.DeviceStoreUnavailable(_logger, _health.Kind, _health.Display, ex.Message,
            _health.BlockListLoadedAt is { } loaded ? $"the block list loaded at {loaded:u}" : "no block list (none loaded since start-up: no device is blocked here yet)", _settings.PollInterval);
        return true;
    }

    /// <summary>Anything the store throws is a store failure, except our own shutdown.</summary>
    private static bool IsStoreFailure(Exception ex, CancellationToken cancellationToken) =>
        !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested) && ex is not OutOfMemoryException;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After every hosted service stopped (the server has drained its requests): write what is left, bounded by the shutdown timeout.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            if (!_migrated)
            {
                await PollOnceAsync(bounded.Token).ConfigureAwait(false);
            }

            var pending = _inventory.Count;
            if (await FlushOnceAsync(bounded.Token).ConfigureAwait(false))
            {
                Log.InventoryFinalFlush(_logger, pending);
            }
            else
            {
                Log.InventoryFinalFlushFailed(_logger, _unwritten.Count, _health.LastError ?? "the store is unavailable");
            }
        }
        catch (OperationCanceledException)
        {
            Log.InventoryFinalFlushFailed(_logger, _unwritten.Count, "timed out");
        }
    }

    public override void Dispose()
    {
        _writing.Dispose();
        base.Dispose();
    }
}
