using System.Collections.Frozen;
using MtlsGate.Policy;

namespace MtlsGate.Devices;

/// <summary>
/// The fingerprints the store says to deny (Blocked, Revoked), as one immutable set swapped atomically:
/// the request path does one lookup (none while the set is empty) and never waits for the store. Read
/// from the store every <c>MtlsGate:Store:PollInterval</c> by <see cref="DeviceStoreService"/> (so a block on
/// another replica takes effect here within that delay); a block made through this process's
/// <see cref="DeviceActions"/> applies here at once. When the store is down the last loaded set stays in force.
/// </summary>
public sealed class DeviceBlockList
{
    private volatile FrozenDictionary<string, DenyReason> _denied = FrozenDictionary<string, DenyReason>.Empty;
    private readonly Lock _writer = new();
    private long _version;

    /// <summary>Why the device with this fingerprint is denied (<see cref="DenyReason.Blocked"/>, <see cref="DenyReason.Revoked"/>), or <see cref="DenyReason.None"/>.</summary>
    public DenyReason VerdictFor(string sha256)
    {
        var denied = _denied;
        return denied.Count != 0 && sha256 is { Length: > 0 } && denied.TryGetValue(sha256, out var reason) ? reason : DenyReason.None;
    }

    /// <summary>The set in force (fingerprint → reason).</summary>
    public IReadOnlyDictionary<string, DenyReason> Current => _denied;

    /// <summary>A token taken before reading the store: <see cref="Replace"/> with it is skipped when a local change came in between.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Replaces the whole set with what the store returned, unless a local change happened since <paramref name="readSince"/> (the next poll brings it).</summary>
    public bool Replace(IReadOnlyDictionary<string, DeviceStatus> fromStore, long readSince)
    {
        ArgumentNullException.ThrowIfNull(fromStore);
        var next = fromStore.ToFrozenDictionary(p => p.Key, p => Reason(p.Value), StringComparer.Ordinal);
        lock (_writer)
        {
            if (Interlocked.Read(ref _version) != readSince)
            {
                return false;
            }

            _denied = next;
            return true;
        }
    }

    /// <summary>Applies one status change made by this process at once (copy, change, swap).</summary>
    public void Apply(string sha256, DeviceStatus status)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        lock (_writer)
        {
            var copy = new Dictionary<string, DenyReason>(_denied, StringComparer.Ordinal);
            if (status is DeviceStatus.Blocked or DeviceStatus.Revoked)
            {
                copy[sha256] = Reason(status);
            }
            else
            {
                copy.Remove(sha256);
            }

            _denied = copy.ToFrozenDictionary(StringComparer.Ordinal);
            Interlocked.Increment(ref _version);
        }
    }

    private static DenyReason Reason(DeviceStatus status) => status == DeviceStatus.Revoked ? DenyReason.Revoked : DenyReason.Blocked;
}
