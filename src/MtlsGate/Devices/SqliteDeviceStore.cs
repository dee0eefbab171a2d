using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace MtlsGate.Devices;

/// <summary>
/// The embedded default: one SQLite file (<c>devices.db</c>) in the private state directory, created
/// 0600 before SQLite opens it (SQLite gives its <c>-wal</c> and <c>-shm</c> files the database file's
/// permissions: https://sqlite.org/tempfiles.html), in WAL mode (readers never wait for the writer:
/// https://sqlite.org/wal.html). Microsoft.Data.Sqlite retries a busy database until the command
/// timeout (<c>Default Timeout</c>), so the CLI reading while the gateway writes just waits a moment.
/// </summary>
public sealed class SqliteDeviceStore : SqlDeviceStore
{
    private readonly string _connectionString;
    private readonly string _path;
    private int _prepared;

    public SqliteDeviceStore(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        _path = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 5,
        }.ToString();
    }

    public override string Kind => "sqlite";

    /// <summary>The database file.</summary>
    public string FilePath => _path;

    protected override string IdentityColumn => "INTEGER PRIMARY KEY AUTOINCREMENT";

    protected override string BlobType => "BLOB";

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _prepared) == 0)
        {
            CreatePrivateFile();
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _prepared, 1) == 0)
            {
                // Persistent in the file: set once.
                await using var wal = connection.CreateCommand();
                wal.CommandText = "PRAGMA journal_mode=WAL";
                await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            Volatile.Write(ref _prepared, 0);
            throw;
        }
    }

    /// <summary>Creates the database file 0600 if it does not exist (open(2) with the mode, no chmod race).</summary>
    private void CreatePrivateFile()
    {
        if (File.Exists(_path))
        {
            return;
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using var created = new FileStream(_path, options);
        }
        catch (IOException) when (File.Exists(_path))
        {
            // Created meanwhile by another opener: fine.
        }
    }

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file (and its WAL) open; release them so the file can be moved or deleted.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
