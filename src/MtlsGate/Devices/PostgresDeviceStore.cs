using System.Data.Common;
using Npgsql;

namespace MtlsGate.Devices;

/// <summary>
/// The shared store for replicas: PostgreSQL through Npgsql's pooled <see cref="NpgsqlDataSource"/>.
/// Replicas starting together serialize their migrations on a transaction-scoped advisory lock
/// (https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS), and DDL is transactional
/// in PostgreSQL, so a migration applies whole or not at all.
/// </summary>
public sealed class PostgresDeviceStore : SqlDeviceStore
{
    /// <summary>The advisory lock key of the migrations ("MtlsGate devices").</summary>
    public const long MigrationLockKey = 0x4D746C73_44657673;

    private readonly NpgsqlDataSource _source;

    public PostgresDeviceStore(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Fail fast when the server is down: the writer retries on its own schedule, and readiness says so.
        if (!HasKey(connectionString, "Timeout"))
        {
            builder.Timeout = 5;
        }

        if (!HasKey(connectionString, "Command Timeout") && !HasKey(connectionString, "CommandTimeout"))
        {
            builder.CommandTimeout = 15;
        }

        _source = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public override string Kind => "postgresql";

    protected override string IdentityColumn => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";

    protected override string BlobType => "BYTEA";

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override async Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT pg_advisory_xact_lock({MigrationLockKey})";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The admin page's default order is newest first with never-seen devices last (<c>DESC NULLS LAST</c>);
    /// a plain B-tree scanned backwards gives <c>NULLS FIRST</c>, so it needs its own index (with the sha256 tie-break, so the first page is read straight off it)
    /// (https://www.postgresql.org/docs/15/indexes-ordering.html). SQLite's DESC puts NULLs last already.
    /// </summary>
    protected override IEnumerable<string> ExtraMigration(int version) =>
        version == 1 ? ["CREATE INDEX devices_last_seen_desc ON devices (last_seen DESC NULLS LAST, sha256)"] : [];

    public override ValueTask DisposeAsync() => _source.DisposeAsync();

    private static bool HasKey(string connectionString, string key) =>
        connectionString.Split(';').Any(part => part.Split('=')[0].Trim().Equals(key, StringComparison.OrdinalIgnoreCase));
}
