using System.Collections.Concurrent;
using System.Net;
using MtlsGate.Policy;
using MtlsGate.Text;

namespace MtlsGate.Devices;

/// <summary>
/// The request path's side of the inventory: one small in-memory record per certificate fingerprint,
/// updated under that record's own lock (so two devices never contend, and a request costs one
/// dictionary lookup, a lock and a few field writes: no I/O, no allocation after a device's first
/// request). <see cref="DeviceStoreService"/> drains the records in batches every
/// <c>MtlsGate:Store:FlushInterval</c>. The number of records is bounded (<c>MaxPendingDevices</c>):
/// a new device beyond it is dropped and counted, never waited for.
/// What is kept: the certificate's subject, issuer, serial and notAfter, first/last seen, the client
/// address, the User-Agent, allowed/denied counts and the last deny reason. Never the URL, the query
/// string, another header or the body. Certificates that do not chain to a configured CA
/// (<see cref="DenyReason.Untrusted"/>) are not recorded: anyone can make one, and they would fill the table.
/// </summary>
public sealed class DeviceInventory(int capacity, TimeProvider time)
{
    /// <summary>Records idle this many flushes are forgotten (re-created on the device's next request).</summary>
    public const int IdleFlushesBeforeRetire = 60;

    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private int _count;
    private long _dropped;
    private long _droppedUnreported;

    /// <summary>Observations of new devices dropped because the queue was full (since start).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The bound of the queue.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>Records in memory now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Records one request of the connection's certificate (nothing for no certificate or an untrusted one).</summary>
    public void Observe(ClientIdentity identity, IPAddress? address, string? userAgent, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.Certificate is null || identity.ChainVerdict == DenyReason.Untrusted)
        {
            return;
        }

        var now = time.GetUtcNow();
        while (true)
        {
            if (!_pending.TryGetValue(identity.Sha256Fingerprint, out var entry))
            {
                if (Volatile.Read(ref _count) >= Capacity)
                {
                    Interlocked.Increment(ref _dropped);
                    Interlocked.Increment(ref _droppedUnreported);
                    return;
                }

                entry = new Pending(identity, now);
                if (!_pending.TryAdd(identity.Sha256Fingerprint, entry))
                {
                    continue;
                }

                Interlocked.Increment(ref _count);
            }

            lock (entry.Gate)
            {
                if (entry.Retired)
                {
                    continue; // removed by the writer meanwhile: take (or make) the current record
                }

                entry.Dirty = true;
                if (entry.Unflushed == 0)
                {
                    entry.FirstSeen = now;
                }

                entry.Unflushed++;
                entry.LastSeen = now;
                entry.Address = address ?? entry.Address;
                entry.UserAgent = userAgent ?? entry.UserAgent;
                entry.Source = identity.Source;
                if (decision.Forwards)
                {
                    entry.Allowed++;
                }
                else
                {
                    entry.Denied++;
                    entry.LastDeny = decision.Reason;
                }

                return;
            }
        }
    }

    /// <summary>
    /// Takes every record with news since the last drain as observations (their counts reset), and forgets
    /// records idle for <see cref="IdleFlushesBeforeRetire"/> drains. <paramref name="country"/> is asked
    /// here, off the request path, for each address.
    /// </summary>
    public List<DeviceObservation> Drain(Func<IPAddress, string?>? country = null)
    {
        var batch = new List<DeviceObservation>();
        foreach (var (key, entry) in _pending)
        {
            lock (entry.Gate)
            {
                if (!entry.Dirty)
                {
                    if (++entry.Idle >= IdleFlushesBeforeRetire)
                    {
                        entry.Retired = true;
                        _pending.TryRemove(new KeyValuePair<string, Pending>(key, entry));
                        Interlocked.Decrement(ref _count);
                    }

                    continue;
                }

                batch.Add(new DeviceObservation(key, entry.Subject, entry.Issuer, entry.Serial, entry.NotAfter, entry.FirstSeen, entry.LastSeen,
                    entry.Address?.ToString(), entry.Address is { } a && country is not null ? country(a) : null, entry.UserAgent,
                    entry.Allowed, entry.Denied, entry.LastDeny is { } r ? Names.Of(r) : null, entry.Source));
                entry.Allowed = 0;
                entry.Denied = 0;
                entry.LastDeny = null;
                entry.Dirty = false;
                entry.Idle = 0;
                entry.Unflushed = 0;
            }
        }

        return batch;
    }

    /// <summary>Drops reported since the last call (for one log line per flush, not one per request).</summary>
    public long TakeUnreportedDrops() => Interlocked.Exchange(ref _droppedUnreported, 0);

    /// <summary>Counts a drop that happened after the request path (the writer's own bound on unwritten batches).</summary>
    internal void CountDropped(long count)
    {
        Interlocked.Add(ref _dropped, count);
        Interlocked.Add(ref _droppedUnreported, count);
    }

    /// <summary>
    /// Merges observations of the same device (an unwritten batch and a new one): counts add up, first seen
    /// is the earlier, the "last" fields come from the later.
    /// </summary>
    public static List<DeviceObservation> Merge(IEnumerable<DeviceObservation> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var merged = new Dictionary<string, DeviceObservation>(StringComparer.Ordinal);
        foreach (var o in observations)
        {
            if (!merged.TryGetValue(o.Sha256, out var known))
            {
                merged[o.Sha256] = o;
                continue;
            }

            var later = o.LastSeen >= known.LastSeen ? o : known;
            merged[o.Sha256] = later with
            {
                FirstSeen = o.FirstSeen < known.FirstSeen ? o.FirstSeen : known.FirstSeen,
                Allowed = known.Allowed + o.Allowed,
                Denied = known.Denied + o.Denied,
                LastDenyReason = later.LastDenyReason ?? (ReferenceEquals(later, o) ? known.LastDenyReason : o.LastDenyReason),
            };
        }

        return [.. merged.Values];
    }

    private sealed class Pending(ClientIdentity identity, DateTimeOffset now)
    {
        public readonly Lock Gate = new();
        public readonly string Subject = identity.Subject;
        public readonly string Issuer = identity.Issuer;
        public readonly string Serial = SerialNumber.Normalize(identity.Certificate!.SerialNumberBytes.Span);
        public readonly DateTimeOffset NotAfter = identity.NotAfter;
        public DateTimeOffset FirstSeen = now;
        public DateTimeOffset LastSeen = now;
        public IPAddress? Address;
        public string? UserAgent;
        public string Source = identity.Source;   // "direct" or the edge that forwarded the certificate (the latest)
        public long Allowed;
        public long Denied;
        public DenyReason? LastDeny;
        public bool Dirty;
        public bool Retired;
        public int Idle;
        public int Unflushed;
    }
}
