using MtlsGate.Configuration;

namespace MtlsGate.Devices;

/// <summary>
/// The store's state as the background service last saw it, for <c>/readyz</c>, <c>/metrics</c> and the
/// admin page: up or down, since when, the last error (a message, never a connection string), whether the
/// block list was ever loaded, and the device counts the expiry gauges show.
/// </summary>
public sealed class DeviceStoreHealth(StoreSettings settings)
{
    private readonly Lock _gate = new();
    private volatile IReadOnlyDictionary<int, long> _expiring = new Dictionary<int, long>();

    /// <summary>"sqlite" or "postgresql".</summary>
    public string Kind { get; } = settings.KindName;

    /// <summary>The file, or host:port/database: safe to show.</summary>
    public string Display { get; } = settings.Display;

    /// <summary>The documented block delay (<c>MtlsGate:Store:PollInterval</c>).</summary>
    public TimeSpan PollInterval { get; } = settings.PollInterval;

    /// <summary>True after the last operation succeeded; false before the first success and after a failure.</summary>
    public bool Up { get; private set; }

    /// <summary>When the store last failed (null: never).</summary>
    public DateTimeOffset? DownSince { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>When the block list in force was read from the store (null: never, since start-up).</summary>
    public DateTimeOffset? BlockListLoadedAt { get; private set; }

    /// <summary>The schema version after migration (0 until migrated).</summary>
    public int SchemaVersion { get; private set; }

    /// <summary>Active devices whose certificate expires within each of 30, 7 and 1 days (refreshed every half minute).</summary>
    public IReadOnlyDictionary<int, long> Expiring => _expiring;

    private bool _readFailing;
    private bool _writeFailing;

    /// <summary>
    /// Marks reads (the block-list poll) or writes (the inventory's batches) as working; the store is up when
    /// both are (a full disk still reads). Returns how long it was down on the transition to up, else null.
    /// </summary>
    internal TimeSpan? Succeeded(DateTimeOffset now, bool write = false)
    {
        lock (_gate)
        {
            if (write)
            {
                _writeFailing = false;
            }
            else
            {
                _readFailing = false;
            }

            if (_readFailing || _writeFailing || (Up && DownSince is null))
            {
                return null;
            }

            var wasDown = DownSince is { } since ? now - since : (TimeSpan?)null;
            Up = true;
            DownSince = null;
            LastError = null;
            return wasDown;
        }
    }

    /// <summary>Marks reads or writes failing (the store down); true on the transition (log once, not every retry).</summary>
    internal bool Failed(DateTimeOffset now, string error, bool write = false)
    {
        lock (_gate)
        {
            if (write)
            {
                _writeFailing = true;
            }
            else
            {
                _readFailing = true;
            }

            var transition = Up || DownSince is null;
            Up = false;
            DownSince ??= now;
            LastError = error;
            return transition;
        }
    }

    internal void Migrated(int version) => SchemaVersion = version;

    internal void BlockListLoaded(DateTimeOffset at) => BlockListLoadedAt = at;

    internal void SetExpiring(IReadOnlyDictionary<int, long> counts) => _expiring = counts;
}
