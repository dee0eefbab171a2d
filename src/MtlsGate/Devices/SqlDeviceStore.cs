using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;

namespace MtlsGate.Devices;

/// <summary>
/// The inventory in SQL, shared by SQLite and PostgreSQL: both speak <c>INSERT … ON CONFLICT … DO UPDATE</c>
/// with <c>excluded</c> (SQLite 3.24+, https://sqlite.org/lang_upsert.html; PostgreSQL 9.5+),
/// <c>RETURNING</c> (SQLite 3.35+) and <c>NULLS LAST</c> (SQLite 3.30+), so only the connection, the
/// identity column, the blob type and the migration lock differ (<see cref="SqliteDeviceStore"/>,
/// <see cref="PostgresDeviceStore"/>). Instants are stored as Unix milliseconds (BIGINT) in both, so
/// sorting and comparing need no dialect. Every call opens a pooled connection and may throw when the
/// store is down; the request path never calls here (see <see cref="DeviceInventory"/>).
/// </summary>
public abstract class SqlDeviceStore : IDeviceStore
{
    /// <summary>The schema this code writes; <see cref="MigrateAsync(int, CancellationToken)"/> brings a database to it.</summary>
    public const int CurrentVersion = 2;

    /// <summary>How long hourly counts are kept (the chart shows 24 hours).</summary>
    public static readonly TimeSpan HourlyRetention = TimeSpan.FromDays(7);

    /// <summary>Longest User-Agent stored (the rest is cut): enough to tell apps apart, not a place to park data.</summary>
    public const int MaxUserAgentLength = 256;

    private const string Columns =
        "sha256, subject, issuer, serial, not_after, first_seen, last_seen, last_address, last_country, last_user_agent, allowed, denied, last_deny_reason, label, status, source, enrolled_at";

    public abstract string Kind { get; }

    /// <summary>Opens a pooled connection.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>The column type of an auto-numbered primary key.</summary>
    protected abstract string IdentityColumn { get; }

    /// <summary>The column type of bytes.</summary>
    protected abstract string BlobType { get; }

    /// <summary>Serializes migrations between processes inside the transaction (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE already does).</summary>
    protected virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Extra statements of a migration that differ by dialect (indexes).</summary>
    protected virtual IEnumerable<string> ExtraMigration(int version) => [];

    public abstract ValueTask DisposeAsync();

    /// <summary>
    /// The versioned migrations, in order. Only ever append a version; never edit one that shipped.
    /// v1: devices and hourly counts, with who/when of the last status change on the row.
    /// v2: history (device_events, filled from v1's last status changes), enrolments, devices.enrolled_at.
    /// </summary>
    private IEnumerable<string> Migration(int version) => version switch
    {
        1 =>
        [
            """
            CREATE TABLE devices (
              sha256 TEXT PRIMARY KEY,
              subject TEXT NOT NULL DEFAULT '',
              issuer TEXT NOT NULL DEFAULT '',
              serial TEXT NOT NULL DEFAULT '',
              not_after BIGINT NOT NULL DEFAULT 0,
              first_seen BIGINT NULL,
              last_seen BIGINT NULL,
              last_address TEXT NULL,
              last_country TEXT NULL,
              last_user_agent TEXT NULL,
              allowed BIGINT NOT NULL DEFAULT 0,
              denied BIGINT NOT NULL DEFAULT 0,
              last_deny_reason TEXT NULL,
              label TEXT NULL,
              status TEXT NOT NULL DEFAULT 'Active',
              status_by TEXT NULL,
              status_at BIGINT NULL,
              source TEXT NOT NULL DEFAULT 'direct')
            """,
            "CREATE INDEX devices_last_seen ON devices (last_seen)",
            "CREATE INDEX devices_not_after ON devices (not_after)",
            "CREATE INDEX devices_status ON devices (status)",
            "CREATE TABLE hourly_counts (hour BIGINT PRIMARY KEY, allowed BIGINT NOT NULL DEFAULT 0, denied BIGINT NOT NULL DEFAULT 0)",
        ],
        2 =>
        [
            "ALTER TABLE devices ADD COLUMN enrolled_at BIGINT NULL",
            $"CREATE TABLE device_events (id {IdentityColumn}, at BIGINT NOT NULL, sha256 TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT NULL)",
            "CREATE INDEX device_events_device ON device_events (sha256, at)",
            // v1 kept only the last status change on the row: it becomes the first entry of the history.
            "INSERT INTO device_events (at, sha256, kind, actor, detail) SELECT status_at, sha256, status, COALESCE(status_by, 'unknown'), NULL FROM devices WHERE status_at IS NOT NULL",
            $"CREATE TABLE enrollments (token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, pkcs12 {BlobType} NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, redeemed_at BIGINT NULL)",
            "CREATE INDEX enrollments_sha256 ON enrollments (sha256)",
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(version)),
    };

    private readonly Lock _readyGate = new();
    private Task? _ready;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await MigrateAsync(CurrentVersion, cancellationToken).ConfigureAwait(false);
        _ready = Task.CompletedTask;
    }

    /// <summary>
    /// Every operation first makes sure the schema is current (once per store object; retried after a
    /// failure), so the admin page or the CLI can use a store the background service has not migrated yet.
    /// </summary>
    private Task ReadyAsync(CancellationToken cancellationToken)
    {
        var ready = _ready;
        if (ready is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        lock (_readyGate)
        {
            if (_ready is null || _ready.IsFaulted || _ready.IsCanceled)
            {
                _ready = MigrateAsync(CurrentVersion, CancellationToken.None);
            }

            return _ready.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Applies the migrations up to <paramref name="target"/>, each in its own transaction that first takes
    /// the migration lock and re-reads the version, so replicas starting together apply each version once.
    /// A database newer than this code is left alone (migrations only add; an older replica keeps working).
    /// </summary>
    public async Task MigrateAsync(int target, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(target, CurrentVersion);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        for (var version = 1; version <= target; version++)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await LockForMigrationAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", cancellationToken).ConfigureAwait(false);
            var applied = await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version", cancellationToken).ConfigureAwait(false);
            if (applied >= version)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            foreach (var statement in Migration(version).Concat(ExtraMigration(version)))
            {
                await ExecuteAsync(connection, transaction, statement, cancellationToken).ConfigureAwait(false);
            }

            await using (var insert = Command(connection, transaction, "INSERT INTO schema_version (version, applied_at) VALUES (@v, @at)"))
            {
                Add(insert, "@v", version);
                Add(insert, "@at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The schema version of the database (0 when empty).</summary>
    public async Task<int> SchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", cancellationToken).ConfigureAwait(false);
        var version = await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version", cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (int)version;
    }

    public async Task RecordAsync(IReadOnlyList<DeviceObservation> batch, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One statement per chunk of devices (a round trip per device made 100 000 devices take minutes on
        // PostgreSQL). A device appears once per statement (ON CONFLICT may not touch a row twice).
        foreach (var chunk in DeviceInventory.Merge(batch).Chunk(RowsPerStatement))
        {
            await UpsertAsync(connection, transaction, chunk, cancellationToken).ConfigureAwait(false);
            await MarkEnrolledAsync(connection, transaction, chunk, cancellationToken).ConfigureAwait(false);
        }

        // The chart's counts, by the hour of each observation's last request (a flush covers about a
        // second, so a count lands in the next hour at most that late).
        await using (var hourly = Command(connection, transaction, """
            INSERT INTO hourly_counts (hour, allowed, denied) VALUES (@hour, @allowed, @denied)
            ON CONFLICT (hour) DO UPDATE SET allowed = hourly_counts.allowed + excluded.allowed, denied = hourly_counts.denied + excluded.denied
            """))
        {
            foreach (var hour in batch.GroupBy(o => Hour(o.LastSeen)))
            {
                hourly.Parameters.Clear();
                Add(hourly, "@hour", hour.Key);
                Add(hourly, "@allowed", hour.Sum(o => o.Allowed));
                Add(hourly, "@denied", hour.Sum(o => o.Denied));
                await hourly.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await using (var prune = Command(connection, transaction, "DELETE FROM hourly_counts WHERE hour < @cutoff"))
        {
            Add(prune, "@cutoff", Hour(batch[0].LastSeen - HourlyRetention));
            await prune.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Devices per upsert statement: 14 parameters each, well under SQLite's 32 766 and PostgreSQL's 65 535.</summary>
    private const int RowsPerStatement = 200;

    private static async Task UpsertAsync(DbConnection connection, DbTransaction transaction, DeviceObservation[] chunk, CancellationToken cancellationToken)
    {
        // A device's facts from its certificate never change; "last" fields move only forward in time
        // (two replicas flush in any order); counts add up. In SET, devices.x is the row before the update.
        const string Newer = "(devices.last_seen IS NULL OR excluded.last_seen >= devices.last_seen)";
        var values = new StringBuilder();
        await using var upsert = Command(connection, transaction, "");
        for (var i = 0; i < chunk.Length; i++)
        {
            var o = chunk[i];
            values.Append(i == 0 ? "" : ",\n").Append(CultureInfo.InvariantCulture,
                $"(@s{i}, @su{i}, @is{i}, @se{i}, @na{i}, @fs{i}, @ls{i}, @la{i}, @lc{i}, @ua{i}, @al{i}, @de{i}, @dr{i}, @so{i})");
            Add(upsert, $"@s{i}", o.Sha256.ToLowerInvariant());
            Add(upsert, $"@su{i}", o.Subject);
            Add(upsert, $"@is{i}", o.Issuer);
            Add(upsert, $"@se{i}", o.Serial);
            Add(upsert, $"@na{i}", Ms(o.NotAfter));
            Add(upsert, $"@fs{i}", Ms(o.FirstSeen));
            Add(upsert, $"@ls{i}", Ms(o.LastSeen));
            Add(upsert, $"@la{i}", o.LastAddress);
            Add(upsert, $"@lc{i}", o.LastCountry);
            Add(upsert, $"@ua{i}", Truncate(o.LastUserAgent));
            Add(upsert, $"@al{i}", o.Allowed);
            Add(upsert, $"@de{i}", o.Denied);
            Add(upsert, $"@dr{i}", o.LastDenyReason);
            Add(upsert, $"@so{i}", o.Source);
        }

        upsert.CommandText = $"""
            INSERT INTO devices (sha256, subject, issuer, serial, not_after, first_seen, last_seen, last_address, last_country, last_user_agent, allowed, denied, last_deny_reason, source)
            VALUES {values}
            ON CONFLICT (sha256) DO UPDATE SET
              subject = excluded.subject, issuer = excluded.issuer, serial = excluded.serial, not_after = excluded.not_after,
              first_seen = CASE WHEN devices.first_seen IS NULL OR excluded.first_seen < devices.first_seen THEN excluded.first_seen ELSE devices.first_seen END,
              last_seen = CASE WHEN {Newer} THEN excluded.last_seen ELSE devices.last_seen END,
              last_address = CASE WHEN {Newer} THEN excluded.last_address ELSE devices.last_address END,
              last_country = CASE WHEN {Newer} THEN excluded.last_country ELSE devices.last_country END,
              last_user_agent = CASE WHEN {Newer} THEN excluded.last_user_agent ELSE devices.last_user_agent END,
              source = CASE WHEN {Newer} THEN excluded.source ELSE devices.source END,
              last_deny_reason = CASE WHEN excluded.last_deny_reason IS NOT NULL AND {Newer} THEN excluded.last_deny_reason ELSE devices.last_deny_reason END,
              allowed = devices.allowed + excluded.allowed,
              denied = devices.denied + excluded.denied
            """;
        await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A device enrolled by link is "enrolled" from its first connection with the certificate (its first seen).</summary>
    private static async Task MarkEnrolledAsync(DbConnection connection, DbTransaction transaction, DeviceObservation[] chunk, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "");
        var names = new List<string>();
        for (var i = 0; i < chunk.Length; i++)
        {
            names.Add($"@s{i}");
            Add(command, $"@s{i}", chunk[i].Sha256.ToLowerInvariant());
        }

        command.CommandText = $"""
            UPDATE devices SET enrolled_at = first_seen
            WHERE enrolled_at IS NULL AND sha256 IN ({string.Join(", ", names)}) AND EXISTS (SELECT 1 FROM enrollments e WHERE e.sha256 = devices.sha256)
            RETURNING sha256, enrolled_at
            """;
        var enrolled = new List<(string Sha256, long At)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                enrolled.Add((reader.GetString(0), reader.GetInt64(1)));
            }
        }

        foreach (var (sha256, at) in enrolled)
        {
            await InsertEventAsync(connection, transaction, new DeviceEvent(At(at), sha256, "Enrolled", "gateway", "first connection with the enrolled certificate"), cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<DeviceRecord>> ListAsync(DeviceQuery query, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(query);
        var (where, parameters) = Filter(query);
        var sql = $"SELECT {Columns} FROM devices{where} ORDER BY {SortColumn(query.Sort)} {(query.Descending ? "DESC" : "ASC")} NULLS LAST, sha256 LIMIT @limit OFFSET @offset";
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql);
        parameters(command);
        Add(command, "@limit", (long)Math.Clamp(query.Limit, 0, 10_000));
        Add(command, "@offset", (long)Math.Max(query.Offset, 0));
        return await ReadDevicesAsync(command, query.Now, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> CountAsync(DeviceQuery query, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(query);
        var (where, parameters) = Filter(query);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, $"SELECT COUNT(*) FROM devices{where}");
        parameters(command);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    public async Task<DeviceRecord?> GetAsync(string sha256, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(sha256);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, $"SELECT {Columns} FROM devices WHERE sha256 = @sha256");
        Add(command, "@sha256", sha256.ToLowerInvariant());
        var found = await ReadDevicesAsync(command, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<IReadOnlyList<DeviceEvent>> HistoryAsync(string sha256, int limit, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(sha256);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT at, sha256, kind, actor, detail FROM device_events WHERE sha256 = @sha256 ORDER BY at DESC, id DESC LIMIT @limit");
        Add(command, "@sha256", sha256.ToLowerInvariant());
        Add(command, "@limit", (long)Math.Clamp(limit, 0, 10_000));
        var events = new List<DeviceEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(new DeviceEvent(At(reader.GetInt64(0)), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return events;
    }

    public async Task SetStatusAsync(string sha256, DeviceStatus status, string actor, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(sha256);
        ArgumentNullException.ThrowIfNull(actor);
        if (status == DeviceStatus.Expired)
        {
            throw new ArgumentException("Expired is computed from the certificate, not set.", nameof(status));
        }

        var key = sha256.ToLowerInvariant();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = Command(connection, transaction, """
            INSERT INTO devices (sha256, status, status_by, status_at) VALUES (@sha256, @status, @actor, @at)
            ON CONFLICT (sha256) DO UPDATE SET status = excluded.status, status_by = excluded.status_by, status_at = excluded.status_at
            """))
        {
            Add(command, "@sha256", key);
            Add(command, "@status", status.ToString());
            Add(command, "@actor", actor);
            Add(command, "@at", Ms(at));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await InsertEventAsync(connection, transaction, new DeviceEvent(at, key, status.ToString(), actor, null), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SetLabelAsync(string sha256, string? label, string actor, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(sha256);
        ArgumentNullException.ThrowIfNull(actor);
        var key = sha256.ToLowerInvariant();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = Command(connection, transaction, "INSERT INTO devices (sha256, label) VALUES (@sha256, @label) ON CONFLICT (sha256) DO UPDATE SET label = excluded.label"))
        {
            Add(command, "@sha256", key);
            Add(command, "@label", string.IsNullOrWhiteSpace(label) ? null : label);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await InsertEventAsync(connection, transaction, new DeviceEvent(at, key, "Label", actor, string.IsNullOrWhiteSpace(label) ? null : label), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlySet<string>> DeniedFingerprintsAsync(CancellationToken cancellationToken) =>
        (await DenyListAsync(cancellationToken).ConfigureAwait(false)).Keys.ToHashSet(StringComparer.Ordinal);

    public async Task<IReadOnlyDictionary<string, DeviceStatus>> DenyListAsync(CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT sha256, status FROM devices WHERE status IN ('Blocked', 'Revoked')");
        var denied = new Dictionary<string, DeviceStatus>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            denied[reader.GetString(0)] = reader.GetString(1) == nameof(DeviceStatus.Revoked) ? DeviceStatus.Revoked : DeviceStatus.Blocked;
        }

        return denied;
    }

    public async Task<IReadOnlyList<HourlyCounts>> HourlyAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT hour, allowed, denied FROM hourly_counts WHERE hour >= @since ORDER BY hour");
        Add(command, "@since", Hour(since));
        var counts = new List<HourlyCounts>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts.Add(new HourlyCounts(At(reader.GetInt64(0)), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return counts;
    }

    public async Task CreateEnrollmentAsync(EnrollmentRecord enrollment, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(enrollment);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = Command(connection, transaction, """
            INSERT INTO enrollments (token_hash, name, sha256, pkcs12, created_at, expires_at, redeemed_at)
            VALUES (@token_hash, @name, @sha256, @pkcs12, @created_at, @expires_at, NULL)
            """))
        {
            Add(command, "@token_hash", enrollment.TokenHash);
            Add(command, "@name", enrollment.Name);
            Add(command, "@sha256", enrollment.Sha256.ToLowerInvariant());
            Add(command, "@pkcs12", enrollment.Pkcs12);
            Add(command, "@created_at", Ms(enrollment.CreatedAt));
            Add(command, "@expires_at", Ms(enrollment.ExpiresAt));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // An expired link's .p12 has no further use: it is not kept.
        await using (var wipe = Command(connection, transaction, "UPDATE enrollments SET pkcs12 = @empty WHERE expires_at <= @now AND LENGTH(pkcs12) > 0"))
        {
            Add(wipe, "@empty", Array.Empty<byte>());
            Add(wipe, "@now", Ms(enrollment.CreatedAt));
            await wipe.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await InsertEventAsync(connection, transaction, new DeviceEvent(enrollment.CreatedAt, enrollment.Sha256.ToLowerInvariant(), "EnrollmentCreated", "enrollment", enrollment.Name), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<EnrollmentRecord?> RedeemEnrollmentAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(tokenHash);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        EnrollmentRecord? redeemed = null;
        // One UPDATE decides: a second redemption (another request, another replica) finds redeemed_at set.
        await using (var command = Command(connection, transaction, """
            UPDATE enrollments SET redeemed_at = @now
            WHERE token_hash = @token_hash AND redeemed_at IS NULL AND expires_at > @now
            RETURNING token_hash, name, sha256, pkcs12, created_at, expires_at, redeemed_at
            """))
        {
            Add(command, "@token_hash", tokenHash);
            Add(command, "@now", Ms(now));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                redeemed = new EnrollmentRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3),
                    At(reader.GetInt64(4)), At(reader.GetInt64(5)), At(reader.GetInt64(6)));
            }
        }

        if (redeemed is not null)
        {
            // Handed out once: the .p12 is not kept after its redemption.
            await using var wipe = Command(connection, transaction, "UPDATE enrollments SET pkcs12 = @empty WHERE token_hash = @token_hash");
            Add(wipe, "@empty", Array.Empty<byte>());
            Add(wipe, "@token_hash", tokenHash);
            await wipe.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await InsertEventAsync(connection, transaction, new DeviceEvent(now, redeemed.Sha256, "EnrollmentRedeemed", "enrollment", redeemed.Name), cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return redeemed;
    }

    public async Task MarkEnrolledAsync(string sha256, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        ArgumentNullException.ThrowIfNull(sha256);
        var key = sha256.ToLowerInvariant();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        int changed;
        await using (var command = Command(connection, transaction, "UPDATE devices SET enrolled_at = @at WHERE sha256 = @sha256 AND enrolled_at IS NULL"))
        {
            Add(command, "@sha256", key);
            Add(command, "@at", Ms(at));
            changed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (changed != 0)
        {
            await InsertEventAsync(connection, transaction, new DeviceEvent(at, key, "Enrolled", "gateway", null), cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A quick round trip (readiness of the store).</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT 1");
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task InsertEventAsync(DbConnection connection, DbTransaction transaction, DeviceEvent entry, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "INSERT INTO device_events (at, sha256, kind, actor, detail) VALUES (@at, @sha256, @kind, @actor, @detail)");
        Add(command, "@at", Ms(entry.At));
        Add(command, "@sha256", entry.Sha256);
        Add(command, "@kind", entry.Kind);
        Add(command, "@actor", entry.Actor);
        Add(command, "@detail", entry.Detail);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The WHERE clause of a query. Expired is computed: an Active device whose certificate's notAfter has
    /// passed (notAfter 0 means "never connected": a device blocked or labelled before its first request).
    /// </summary>
    private static (string Where, Action<DbCommand> Parameters) Filter(DeviceQuery query)
    {
        var clauses = new List<string>();
        var now = Ms(query.Now);
        switch (query.Status)
        {
            case DeviceStatus.Active:
                clauses.Add("status = 'Active' AND (not_after = 0 OR not_after > @now)");
                break;
            case DeviceStatus.Expired:
                clauses.Add("status = 'Active' AND not_after > 0 AND not_after <= @now");
                break;
            case DeviceStatus.Blocked:
                clauses.Add("status = 'Blocked'");
                break;
            case DeviceStatus.Revoked:
                clauses.Add("status = 'Revoked'");
                break;
        }

        long? until = null;
        if (query.ExpiresWithinDays is { } days)
        {
            clauses.Add("not_after > @now AND not_after <= @until");
            until = Ms(query.Now.AddDays(Math.Clamp(days, 0, 36_500)));
        }

        var where = clauses.Count == 0 ? "" : " WHERE " + string.Join(" AND ", clauses.Select(c => "(" + c + ")"));
        return (where, command =>
        {
            if (where.Contains("@now", StringComparison.Ordinal))
            {
                Add(command, "@now", now);
            }

            if (until is { } u)
            {
                Add(command, "@until", u);
            }
        });
    }

    /// <summary>The column for a <see cref="DeviceRecord"/> property name (camelCase or PascalCase); unknown names sort by last seen.</summary>
    public static string SortColumn(string? sort) => (sort ?? "").ToUpperInvariant() switch
    {
        "SHA256" => "sha256",
        "SUBJECT" => "subject",
        "ISSUER" => "issuer",
        "SERIAL" => "serial",
        "NOTAFTER" => "not_after",
        "FIRSTSEEN" => "first_seen",
        "LASTADDRESS" => "last_address",
        "LASTCOUNTRY" => "last_country",
        "ALLOWED" => "allowed",
        "DENIED" => "denied",
        "LASTDENYREASON" => "last_deny_reason",
        "LABEL" => "label",
        "STATUS" => "status",
        "ENROLLEDAT" => "enrolled_at",
        _ => "last_seen",
    };

    private static async Task<IReadOnlyList<DeviceRecord>> ReadDevicesAsync(DbCommand command, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var devices = new List<DeviceRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var notAfter = reader.GetInt64(4);
            var status = Enum.TryParse<DeviceStatus>(reader.GetString(14), out var parsed) ? parsed : DeviceStatus.Active;
            if (status == DeviceStatus.Active && notAfter > 0 && notAfter <= Ms(now))
            {
                status = DeviceStatus.Expired;
            }

            devices.Add(new DeviceRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                notAfter == 0 ? default : At(notAfter),
                reader.IsDBNull(5) ? default : At(reader.GetInt64(5)),
                reader.IsDBNull(6) ? default : At(reader.GetInt64(6)),
                Text(reader, 7), Text(reader, 8), Text(reader, 9),
                reader.GetInt64(10), reader.GetInt64(11), Text(reader, 12), Text(reader, 13), status)
            {
                Source = reader.GetString(15),
                EnrolledAt = reader.IsDBNull(16) ? null : At(reader.GetInt64(16)),
            });
        }

        return devices;
    }

    private static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long> ScalarAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <summary>A parameter with its type given (Npgsql cannot infer the type of a null).</summary>
    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = value switch
        {
            long or int => DbType.Int64,
            byte[] => DbType.Binary,
            _ => DbType.String,
        };
        parameter.Value = value switch
        {
            null => DBNull.Value,
            int i => (long)i,
            _ => value,
        };
        command.Parameters.Add(parameter);
    }

    private static long Ms(DateTimeOffset at) => at == default ? 0 : at.ToUnixTimeMilliseconds();

    private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static long Hour(DateTimeOffset at) => Ms(at) / 3_600_000 * 3_600_000;

    private static string? Truncate(string? userAgent)
    {
        if (userAgent is null || userAgent.Length <= MaxUserAgentLength)
        {
            return userAgent;
        }

        // Cut on a character boundary (never half a surrogate pair).
        var cut = MaxUserAgentLength;
        if (char.IsHighSurrogate(userAgent[cut - 1]))
        {
            cut--;
        }

        return new StringBuilder(userAgent, 0, cut, cut).ToString();
    }
}
