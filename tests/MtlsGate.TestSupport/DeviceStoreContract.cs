using System.Diagnostics;
using System.Security.Cryptography;
using MtlsGate.Devices;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// What every <see cref="IDeviceStore"/> must do, run against each real database: SQLite (unit tests) and
/// PostgreSQL 15 (integration tests, a throwaway cluster). A derived class only says how to get a new,
/// empty store; each test gets its own database.
/// </summary>
public abstract class DeviceStoreContract
{
    protected static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A store on a new, empty database (not migrated). Disposed by the test.</summary>
    protected abstract Task<SqlDeviceStore> NewStoreAsync();

    /// <summary>A second store on the same database as <paramref name="store"/> (another replica).</summary>
    protected abstract SqlDeviceStore SameDatabase(SqlDeviceStore store);

    public static string Sha(int i) => Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)));

    public static DeviceObservation Seen(string sha256, DateTimeOffset at, long allowed = 1, long denied = 0, string? reason = null,
        string address = "192.0.2.1", string? userAgent = "Bitwarden_Mobile/2025.2", DateTimeOffset? notAfter = null, string subject = "CN=phone, O=MtlsGate devices") =>
        new(sha256, subject, "CN=Home CA", "0A1B", notAfter ?? T0.AddDays(365), at, at, address, null, userAgent, allowed, denied, reason, "direct");

    [SkippableFact]
    public async Task Migrate_from_empty_creates_the_current_schema_and_running_it_again_changes_nothing()
    {
        await using var store = await NewStoreAsync();
        Assert.Equal(0, await store.SchemaVersionAsync(default));
        await store.MigrateAsync(default);
        Assert.Equal(SqlDeviceStore.CurrentVersion, await store.SchemaVersionAsync(default));
        await store.RecordAsync([Seen(Sha(1), T0)], default);
        await store.MigrateAsync(default);
        Assert.Equal(SqlDeviceStore.CurrentVersion, await store.SchemaVersionAsync(default));
        Assert.NotNull(await store.GetAsync(Sha(1), default));
    }

    [SkippableFact]
    public async Task Migrate_from_version_1_keeps_the_devices_and_turns_the_last_status_change_into_history()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(1, default);
        Assert.Equal(1, await store.SchemaVersionAsync(default));
        // What a v1 gateway wrote: a device with requests, blocked (who and when on the row), and one never blocked.
        await ExecuteAsync(store, $"""
            INSERT INTO devices (sha256, subject, issuer, serial, not_after, first_seen, last_seen, allowed, denied, status, status_by, status_at)
            VALUES ('{Sha(2)}', 'CN=old phone', 'CN=Home CA', '01', {T0.AddDays(30).ToUnixTimeMilliseconds()}, {T0.ToUnixTimeMilliseconds()}, {T0.AddMinutes(4).ToUnixTimeMilliseconds()}, 5, 0, 'Blocked', 'admin@loopback', {T0.AddMinutes(5).ToUnixTimeMilliseconds()})
            """);
        await ExecuteAsync(store, $"INSERT INTO devices (sha256, first_seen, last_seen, allowed) VALUES ('{Sha(1)}', {T0.ToUnixTimeMilliseconds()}, {T0.ToUnixTimeMilliseconds()}, 1)");
        await ExecuteAsync(store, $"INSERT INTO hourly_counts (hour, allowed, denied) VALUES ({T0.ToUnixTimeMilliseconds()}, 6, 0)");

        await store.MigrateAsync(default);
        Assert.Equal(SqlDeviceStore.CurrentVersion, await store.SchemaVersionAsync(default));
        var device = await store.GetAsync(Sha(2), default);
        Assert.NotNull(device);
        Assert.Equal(DeviceStatus.Blocked, device.Status);
        Assert.Equal(5, device.Allowed);
        var history = await store.HistoryAsync(Sha(2), 10, default);
        var entry = Assert.Single(history);
        Assert.Equal("Blocked", entry.Kind);
        Assert.Equal("admin@loopback", entry.Actor);
        Assert.Equal(T0.AddMinutes(5), entry.At);
        Assert.Empty(await store.HistoryAsync(Sha(1), 10, default));
        Assert.Equal([new HourlyCounts(T0, 6, 0)], await store.HourlyAsync(T0, default));
        // v2's additions work on the migrated database.
        await store.RecordAsync([Seen(Sha(2), T0.AddHours(1))], default);
        Assert.Equal(6, (await store.GetAsync(Sha(2), default))!.Allowed);
        await store.SetStatusAsync(Sha(2), DeviceStatus.Active, "cli", T0.AddHours(2), default);
        Assert.Equal(["Active", "Blocked"], (await store.HistoryAsync(Sha(2), 10, default)).Select(e => e.Kind));
    }

    /// <summary>Runs raw SQL on <paramref name="store"/>'s database (to write rows as an older version did).</summary>
    protected abstract Task ExecuteAsync(SqlDeviceStore store, string sql);

    [SkippableFact]
    public async Task Two_replicas_migrating_at_once_apply_each_version_once()
    {
        await using var first = await NewStoreAsync();
        await using var second = SameDatabase(first);
        await Task.WhenAll(first.MigrateAsync(default), second.MigrateAsync(default));
        Assert.Equal(SqlDeviceStore.CurrentVersion, await first.SchemaVersionAsync(default));
        await first.RecordAsync([Seen(Sha(1), T0)], default);
        Assert.NotNull(await second.GetAsync(Sha(1), default));
    }

    [SkippableFact]
    public async Task Record_adds_counts_keeps_the_earliest_first_seen_and_the_latest_last_fields_whatever_the_order()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var sha = Sha(7);
        await store.RecordAsync([Seen(sha, T0.AddMinutes(10), allowed: 2, address: "192.0.2.10", userAgent: "later")], default);
        // An older batch from another replica arrives afterwards.
        await store.RecordAsync([Seen(sha, T0, allowed: 1, denied: 4, reason: "Blocked", address: "192.0.2.1", userAgent: "earlier")], default);
        var device = (await store.GetAsync(sha.ToUpperInvariant(), default))!;
        Assert.Equal(3, device.Allowed);
        Assert.Equal(4, device.Denied);
        Assert.Equal(T0, device.FirstSeen);
        Assert.Equal(T0.AddMinutes(10), device.LastSeen);
        Assert.Equal("192.0.2.10", device.LastAddress);
        Assert.Equal("later", device.LastUserAgent);
        Assert.Null(device.LastDenyReason); // the deny reason of an older batch does not overwrite a later state
        Assert.Equal("direct", device.Source);
        Assert.Equal("CN=phone, O=MtlsGate devices", device.Subject);

        await store.RecordAsync([Seen(sha, T0.AddMinutes(20), allowed: 0, denied: 1, reason: "Revoked", userAgent: new string('x', 1000))], default);
        device = (await store.GetAsync(sha, default))!;
        Assert.Equal("Revoked", device.LastDenyReason);
        Assert.Equal(SqlDeviceStore.MaxUserAgentLength, device.LastUserAgent!.Length);
    }

    [SkippableFact]
    public async Task A_device_blocked_before_it_ever_connected_is_denied_and_its_first_requests_fill_in_its_certificate()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var sha = Sha(3);
        await store.SetStatusAsync(sha, DeviceStatus.Blocked, "cli", T0, default);
        Assert.Equal(DeviceStatus.Blocked, (await store.DenyListAsync(default))[sha]);
        var early = (await store.GetAsync(sha, default))!;
        Assert.Equal(default, early.LastSeen);
        Assert.Equal(DeviceStatus.Blocked, early.Status);

        await store.RecordAsync([Seen(sha, T0.AddMinutes(1), allowed: 0, denied: 1, reason: "Blocked")], default);
        var device = (await store.GetAsync(sha, default))!;
        Assert.Equal(DeviceStatus.Blocked, device.Status);
        Assert.Equal(T0.AddMinutes(1), device.FirstSeen);
        Assert.Equal("CN=Home CA", device.Issuer);
    }

    [SkippableFact]
    public async Task The_deny_list_holds_blocked_and_revoked_devices_only_and_history_says_who_and_when()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        await store.RecordAsync([Seen(Sha(1), T0), Seen(Sha(2), T0), Seen(Sha(3), T0)], default);
        await store.SetStatusAsync(Sha(1), DeviceStatus.Blocked, "admin@loopback", T0.AddMinutes(1), default);
        await store.SetStatusAsync(Sha(2), DeviceStatus.Revoked, "CN=admin", T0.AddMinutes(2), default);
        await store.SetStatusAsync(Sha(3), DeviceStatus.Blocked, "cli", T0.AddMinutes(3), default);
        await store.SetStatusAsync(Sha(3), DeviceStatus.Active, "cli", T0.AddMinutes(4), default);
        await store.SetLabelAsync(Sha(3), "Anna's phone", "admin@loopback", T0.AddMinutes(5), default);

        var denied = await store.DenyListAsync(default);
        Assert.Equal(2, denied.Count);
        Assert.Equal(DeviceStatus.Blocked, denied[Sha(1)]);
        Assert.Equal(DeviceStatus.Revoked, denied[Sha(2)]);
        Assert.Equal(new HashSet<string> { Sha(1), Sha(2) }, (await store.DeniedFingerprintsAsync(default)).ToHashSet());

        var history = await store.HistoryAsync(Sha(3), 10, default);
        Assert.Equal(["Label", "Active", "Blocked"], history.Select(e => e.Kind));
        Assert.All(history.Skip(1), e => Assert.Equal("cli", e.Actor));
        Assert.Equal(T0.AddMinutes(4), history[1].At);
        Assert.Equal("Anna's phone", history[0].Detail);
        Assert.Equal("Anna's phone", (await store.GetAsync(Sha(3), default))!.Label);
    }

    [SkippableFact]
    public async Task List_filters_by_status_and_expiry_sorts_by_a_column_and_pages()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var now = T0.AddDays(1);
        await store.RecordAsync(
        [
            Seen(Sha(1), T0.AddMinutes(1), notAfter: now.AddDays(3)),     // expires within 7
            Seen(Sha(2), T0.AddMinutes(2), notAfter: now.AddDays(20)),    // within 30
            Seen(Sha(3), T0.AddMinutes(3), notAfter: now.AddDays(-1)),    // expired
            Seen(Sha(4), T0.AddMinutes(4), notAfter: now.AddDays(300), denied: 9),
        ], default);
        await store.SetStatusAsync(Sha(4), DeviceStatus.Blocked, "cli", T0, default);

        Assert.Equal(4, await store.CountAsync(new DeviceQuery(null, null, now), default));
        Assert.Equal([Sha(4), Sha(3), Sha(2), Sha(1)], (await store.ListAsync(new DeviceQuery(null, null, now), default)).Select(d => d.Sha256));
        Assert.Equal([Sha(1), Sha(2)], (await store.ListAsync(new DeviceQuery(DeviceStatus.Active, null, now, "notAfter", Descending: false), default)).Select(d => d.Sha256));
        Assert.Equal([Sha(3)], (await store.ListAsync(new DeviceQuery(DeviceStatus.Expired, null, now), default)).Select(d => d.Sha256));
        Assert.Equal(DeviceStatus.Expired, (await store.GetAsync(Sha(3), default))!.Status);
        Assert.Equal([Sha(4)], (await store.ListAsync(new DeviceQuery(DeviceStatus.Blocked, null, now), default)).Select(d => d.Sha256));
        Assert.Equal(1, await store.CountAsync(new DeviceQuery(DeviceStatus.Active, 7, now), default));
        Assert.Equal(2, await store.CountAsync(new DeviceQuery(DeviceStatus.Active, 30, now), default));
        Assert.Equal(0, await store.CountAsync(new DeviceQuery(DeviceStatus.Active, 1, now), default));
        Assert.Equal([Sha(4)], (await store.ListAsync(new DeviceQuery(null, null, now, "denied", Limit: 1), default)).Select(d => d.Sha256));
        Assert.Equal([Sha(2), Sha(1)], (await store.ListAsync(new DeviceQuery(null, null, now, "no such column; DROP TABLE devices", Offset: 2, Limit: 5), default)).Select(d => d.Sha256));
    }

    [SkippableFact]
    public async Task Hourly_counts_add_up_per_hour_for_the_chart()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        await store.RecordAsync([Seen(Sha(1), T0.AddMinutes(5), allowed: 2, denied: 1), Seen(Sha(2), T0.AddMinutes(50), allowed: 3)], default);
        await store.RecordAsync([Seen(Sha(1), T0.AddMinutes(65), allowed: 1, denied: 4)], default);
        var hours = await store.HourlyAsync(T0.AddHours(-24), default);
        Assert.Equal([new HourlyCounts(T0, 5, 1), new HourlyCounts(T0.AddHours(1), 1, 4)], hours);
    }

    [SkippableFact]
    public async Task An_enrolment_is_redeemed_once_never_after_expiry_its_pkcs12_is_not_kept_and_the_first_connection_marks_the_device_enrolled()
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var p12 = RandomNumberGenerator.GetBytes(2000);
        await store.CreateEnrollmentAsync(new EnrollmentRecord("hash-1", "phone", Sha(1), p12, T0, T0.AddMinutes(15), null), default);
        await store.CreateEnrollmentAsync(new EnrollmentRecord("hash-2", "tablet", Sha(2), p12, T0, T0.AddMinutes(15), null), default);

        Assert.Null(await store.RedeemEnrollmentAsync("hash-2", T0.AddMinutes(15), default));   // expired at the exact second
        Assert.Null(await store.RedeemEnrollmentAsync("unknown", T0, default));
        var redeemed = await store.RedeemEnrollmentAsync("hash-1", T0.AddMinutes(1), default);
        Assert.NotNull(redeemed);
        Assert.Equal(p12, redeemed.Pkcs12);
        Assert.Equal("phone", redeemed.Name);
        Assert.Equal(T0.AddMinutes(1), redeemed.RedeemedAt);
        Assert.Null(await store.RedeemEnrollmentAsync("hash-1", T0.AddMinutes(2), default));

        // Two redemptions at once: exactly one wins.
        await store.CreateEnrollmentAsync(new EnrollmentRecord("hash-3", "laptop", Sha(3), p12, T0, T0.AddMinutes(15), null), default);
        await using var replica = SameDatabase(store);
        var both = await Task.WhenAll(store.RedeemEnrollmentAsync("hash-3", T0.AddMinutes(1), default), replica.RedeemEnrollmentAsync("hash-3", T0.AddMinutes(1), default));
        Assert.Single(both, r => r is not null);

        Assert.Null((await store.GetAsync(Sha(1), default))?.EnrolledAt);
        await store.RecordAsync([Seen(Sha(1), T0.AddMinutes(3))], default);
        Assert.Equal(T0.AddMinutes(3), (await store.GetAsync(Sha(1), default))!.EnrolledAt);
        Assert.Contains(await store.HistoryAsync(Sha(1), 10, default), e => e.Kind == "Enrolled");
        Assert.Contains(await store.HistoryAsync(Sha(1), 10, default), e => e.Kind == "EnrollmentRedeemed");
    }

    /// <summary>
    /// 100 000 distinct certificates, then the admin page's first query (newest first, 50 rows, plus the
    /// count): the time is reported (docs/benchmarks.md), never asserted.
    /// </summary>
    protected async Task<(TimeSpan Fill, TimeSpan FirstPage, TimeSpan Count)> MeasureFirstPageAsync(int devices = 100_000)
    {
        await using var store = await NewStoreAsync();
        await store.MigrateAsync(default);
        var fill = Stopwatch.StartNew();
        for (var start = 0; start < devices; start += 2000)
        {
            var batch = Enumerable.Range(start, Math.Min(2000, devices - start))
                .Select(i => Seen(Sha(i), T0.AddSeconds(i), allowed: i % 7, denied: i % 3, notAfter: T0.AddDays(i % 400), subject: $"CN=device-{i}, O=MtlsGate devices"))
                .ToList();
            await store.RecordAsync(batch, default);
        }

        fill.Stop();
        var query = new DeviceQuery(null, null, T0, Limit: 50);
        await store.ListAsync(query, default); // warm the pool and the statement
        var page = Stopwatch.StartNew();
        var rows = await store.ListAsync(query, default);
        page.Stop();
        var count = Stopwatch.StartNew();
        var total = await store.CountAsync(query, default);
        count.Stop();
        Assert.Equal(50, rows.Count);
        Assert.Equal(devices, total);
        Assert.Equal(Sha(devices - 1), rows[0].Sha256);
        return (fill.Elapsed, page.Elapsed, count.Elapsed);
    }
}
