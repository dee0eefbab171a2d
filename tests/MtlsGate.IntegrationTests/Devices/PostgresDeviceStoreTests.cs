using MtlsGate.Devices;
using MtlsGate.Tests.TestSupport;
using Npgsql;
using Xunit.Abstractions;

namespace MtlsGate.IntegrationTests.Devices;

/// <summary>The store contract on a real PostgreSQL 15: one throwaway cluster for the class, one database per test.</summary>
public sealed class PostgresDeviceStoreTests(PostgresFixture postgres, ITestOutputHelper output) : DeviceStoreContract, IClassFixture<PostgresFixture>
{
    private readonly Dictionary<SqlDeviceStore, string> _connectionStrings = [];

    protected override async Task<SqlDeviceStore> NewStoreAsync()
    {
        var connectionString = await postgres.Cluster.CreateDatabaseAsync();
        var store = new PostgresDeviceStore(connectionString);
        _connectionStrings[store] = connectionString;
        return store;
    }

    protected override SqlDeviceStore SameDatabase(SqlDeviceStore store)
    {
        var replica = new PostgresDeviceStore(_connectionStrings[store]);
        _connectionStrings[replica] = _connectionStrings[store];
        return replica;
    }

    protected override async Task ExecuteAsync(SqlDeviceStore store, string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionStrings[store]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [SkippableFact]
    public async Task First_page_of_100000_devices_is_measured()
    {
        var (fill, page, count) = await MeasureFirstPageAsync();
        output.WriteLine($"postgresql: 100000 devices written in {fill.TotalSeconds:0.0} s; first page (50, newest first) {page.TotalMilliseconds:0.0} ms; count {count.TotalMilliseconds:0.0} ms");
    }
}
