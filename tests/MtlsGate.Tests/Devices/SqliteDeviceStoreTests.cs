using Microsoft.Data.Sqlite;
using MtlsGate.Devices;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Devices;

/// <summary>The store contract on SQLite: a new file per test in a private temporary folder.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SqliteDeviceStoreTests(ITestOutputHelper output) : DeviceStoreContract, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-sqlite-").FullName;
    private int _databases;

    protected override Task<SqlDeviceStore> NewStoreAsync() =>
        Task.FromResult<SqlDeviceStore>(new SqliteDeviceStore(Path.Combine(_folder, $"devices-{++_databases}.db")));

    protected override SqlDeviceStore SameDatabase(SqlDeviceStore store) => new SqliteDeviceStore(((SqliteDeviceStore)store).FilePath);

    protected override async Task ExecuteAsync(SqlDeviceStore store, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={((SqliteDeviceStore)store).FilePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task The_database_file_is_created_owner_only_in_wal_mode()
    {
        await using var store = (SqliteDeviceStore)await NewStoreAsync();
        await store.MigrateAsync(default);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
        await using var connection = new SqliteConnection($"Data Source={store.FilePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task First_page_of_100000_devices_is_measured()
    {
        var (fill, page, count) = await MeasureFirstPageAsync();
        output.WriteLine($"sqlite: 100000 devices written in {fill.TotalSeconds:0.0} s; first page (50, newest first) {page.TotalMilliseconds:0.0} ms; count {count.TotalMilliseconds:0.0} ms");
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
