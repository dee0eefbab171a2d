namespace MtlsGate.Devices;

/// <summary>A device's standing. Blocked and Revoked devices are denied (reason <c>Blocked</c> / <c>Revoked</c>).</summary>
public enum DeviceStatus
{
    Active,
    Blocked,
    Revoked,
    Expired,
}

/// <summary>One device of the inventory, keyed by the certificate's SHA-256 fingerprint (lower-case hex).</summary>
public sealed record DeviceRecord(
    string Sha256,
    string Subject,
    string Issuer,
    string Serial,
    DateTimeOffset NotAfter,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    string? LastAddress,
    string? LastCountry,
    string? LastUserAgent,
    long Allowed,
    long Denied,
    string? LastDenyReason,
    string? Label,
    DeviceStatus Status)
{
    /// <summary>Where the identity came from: "direct", an edge's name, or "login" (a session subject in <see cref="Sha256"/>'s place).</summary>
    public string Source { get; init; } = "direct";

    /// <summary>When a device enrolled by link first connected with its certificate; null otherwise.</summary>
    public DateTimeOffset? EnrolledAt { get; init; }
}

/// <summary>What the request path observed about one device since the last flush (merged in memory, written in batches).</summary>
public sealed record DeviceObservation(
    string Sha256,
    string Subject,
    string Issuer,
    string Serial,
    DateTimeOffset NotAfter,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    string? LastAddress,
    string? LastCountry,
    string? LastUserAgent,
    long Allowed,
    long Denied,
    string? LastDenyReason,
    string Source);

/// <summary>A page of the device table.</summary>
/// <param name="Status">Only devices with this status; null = all.</param>
/// <param name="ExpiresWithinDays">Only devices whose certificate expires within this many days of <paramref name="Now"/>; null = all.</param>
/// <param name="Now">The instant <paramref name="ExpiresWithinDays"/> counts from.</param>
/// <param name="Sort">A <see cref="DeviceRecord"/> column name (lastSeen, notAfter, subject, denied…); unknown names sort by lastSeen.</param>
/// <param name="Descending">Sort order.</param>
/// <param name="Offset">Rows skipped.</param>
/// <param name="Limit">Rows returned at most.</param>
public sealed record DeviceQuery(DeviceStatus? Status, int? ExpiresWithinDays, DateTimeOffset Now, string Sort = "lastSeen", bool Descending = true, int Offset = 0, int Limit = 100);

/// <summary>An entry of a device's history: status changes, labels, enrolment (who and when).</summary>
public sealed record DeviceEvent(DateTimeOffset At, string Sha256, string Kind, string Actor, string? Detail);

/// <summary>Requests allowed and denied in one hour (all devices), for the admin page's chart.</summary>
public sealed record HourlyCounts(DateTimeOffset Hour, long Allowed, long Denied);

/// <summary>A one-time enrolment: the token is stored only as its SHA-256; the .p12 is password-protected and the password is never stored.</summary>
public sealed record EnrollmentRecord(string TokenHash, string Name, string Sha256, byte[] Pkcs12, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RedeemedAt);

/// <summary>
/// The inventory's storage: SQLite in the state directory by default, PostgreSQL when
/// <c>MtlsGate:Store:ConnectionString</c> is set. Every call may throw when the store is down; callers
/// on the request path never call it (they use <c>DeviceInventory</c>'s in-memory state).
/// </summary>
public interface IDeviceStore : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgresql" (for /readyz and logs).</summary>
    string Kind { get; }

    /// <summary>Creates or migrates the schema to the current version (versioned migrations).</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Merges a batch of observations: counts add up, last-seen fields take the later value, first-seen the earlier; hourly counts are added.</summary>
    Task RecordAsync(IReadOnlyList<DeviceObservation> batch, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeviceRecord>> ListAsync(DeviceQuery query, CancellationToken cancellationToken);

    Task<int> CountAsync(DeviceQuery query, CancellationToken cancellationToken);

    Task<DeviceRecord?> GetAsync(string sha256, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeviceEvent>> HistoryAsync(string sha256, int limit, CancellationToken cancellationToken);

    /// <summary>Sets a device's status (creating the row if the device never connected) and records who and when.</summary>
    Task SetStatusAsync(string sha256, DeviceStatus status, string actor, DateTimeOffset at, CancellationToken cancellationToken);

    Task SetLabelAsync(string sha256, string? label, string actor, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Fingerprints whose status denies (Blocked, Revoked): what every replica polls.</summary>
    Task<IReadOnlySet<string>> DeniedFingerprintsAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<HourlyCounts>> HourlyAsync(DateTimeOffset since, CancellationToken cancellationToken);

    Task CreateEnrollmentAsync(EnrollmentRecord enrollment, CancellationToken cancellationToken);

    /// <summary>Atomically marks an unexpired, unredeemed enrolment redeemed and returns it; null when unknown, expired or used.</summary>
    Task<EnrollmentRecord?> RedeemEnrollmentAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Marks the device enrolled by link as enrolled (first connection with its certificate).</summary>
    Task MarkEnrolledAsync(string sha256, DateTimeOffset at, CancellationToken cancellationToken);
}
