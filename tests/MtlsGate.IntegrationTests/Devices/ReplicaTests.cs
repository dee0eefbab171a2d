using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Devices;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.IntegrationTests.Devices;

/// <summary>
/// Gateways sharing one PostgreSQL 15 database (a throwaway cluster): a block made on one replica is
/// enforced by the other within the documented delay (<c>Store:PollInterval</c>), the inventory counts the
/// requests of both, and the database stopped mid-run stops no request, shows in /readyz, and the
/// observations made meanwhile are written once it is back.
/// </summary>
public sealed class ReplicaTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static TestPki Pki => TestPki.Instance;

    /// <summary>The poll interval these tests configure; waits are bounded by many times it, never asserted as timings.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(300);

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static Action<JsonObject> OnDatabase(string connectionString) => config =>
        config["MtlsGate"]!["Store"] = new JsonObject
        {
            ["ConnectionString"] = connectionString,
            ["PollInterval"] = $"00:00:00.{Poll.Milliseconds:000}",
            ["FlushInterval"] = "00:00:00.200",
        };

    [SkippableFact]
    public async Task A_block_on_one_replica_is_enforced_by_the_other_and_the_inventory_counts_requests_from_both()
    {
        var database = await postgres.Cluster.CreateDatabaseAsync();
        await using var a = await TestGateway.StartAsync(OnDatabase(database));
        await using var b = await TestGateway.StartAsync(OnDatabase(database));
        using var clientA = a.Client(Pki.Good);
        using var clientB = b.Client(Pki.Good);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await clientA.GetAsync($"/a{i}")).StatusCode);
        }

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await clientB.GetAsync($"/b{i}")).StatusCode);
        }

        var sha = TestPki.Fingerprint(Pki.Good);
        var store = a.Services.GetRequiredService<IDeviceStore>();
        await Eventually.TrueAsync(async () => (await store.GetAsync(sha, default))?.Allowed == 5, Wait, "the inventory did not count the requests of both replicas");

        var blocked = await a.Services.GetRequiredService<DeviceActions>().BlockAsync(sha, DeviceActions.LoopbackActor, default);
        Assert.True(blocked.Ok, blocked.Message);
        Assert.Equal(HttpStatusCode.NotFound, (await clientA.GetAsync("/a-after")).StatusCode); // at once where it was made
        // On the other replica within the poll interval (bounded here by many intervals; the time is not asserted).
        await Eventually.TrueAsync(async () => (await clientB.GetAsync("/b-after")).StatusCode == HttpStatusCode.NotFound, Wait, "replica B never enforced the block");

        Assert.True((await b.Services.GetRequiredService<DeviceActions>().UnblockAsync(sha, "CN=admin", default)).Ok);
        await Eventually.TrueAsync(async () => (await clientA.GetAsync("/a-again")).StatusCode == HttpStatusCode.OK, Wait, "replica A never lifted the block");
        Assert.Equal(["Active", "Blocked"], (await store.HistoryAsync(sha, 10, default)).Select(e => e.Actor == "CN=admin" ? "Active" : e.Kind));
    }

    [SkippableFact]
    public async Task With_the_database_stopped_requests_keep_flowing_readyz_says_so_and_the_records_catch_up_after_it_restarts()
    {
        var cluster = postgres.Cluster;
        var database = await cluster.CreateDatabaseAsync();
        await using var gateway = await TestGateway.StartAsync(OnDatabase(database));
        using var client = gateway.Client(Pki.Good);
        using var blockedClient = gateway.Client(Pki.GoodViaIntermediate, chain: [Pki.Intermediate]);
        using var management = new HttpClient { BaseAddress = gateway.ManagementUri, Timeout = TimeSpan.FromSeconds(30) };
        var sha = TestPki.Fingerprint(Pki.Good);
        var store = gateway.Services.GetRequiredService<IDeviceStore>();
        Assert.True((await gateway.Services.GetRequiredService<DeviceActions>().BlockAsync(TestPki.Fingerprint(Pki.GoodViaIntermediate), "cli", default)).Ok);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/before")).StatusCode);
        await Eventually.TrueAsync(async () => (await store.GetAsync(sha, default))?.Allowed == 1, Wait, "not recorded");

        await cluster.StopServerAsync();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/during{i}")).StatusCode);
            }

            // The block list loaded before the outage keeps deciding.
            Assert.Equal(HttpStatusCode.NotFound, (await blockedClient.GetAsync("/blocked-during")).StatusCode);
            JsonElement report = default;
            await Eventually.TrueAsync(async () =>
            {
                using var response = await management.GetAsync("/readyz");
                report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                return report.GetProperty("store").GetProperty("state").GetString() == "down";
            }, Wait, () => report.ToString());
            Assert.Equal("postgresql", report.GetProperty("store").GetProperty("kind").GetString());
            Assert.Equal("ready", report.GetProperty("status").GetString()); // a warning: every replica shares the store
            Assert.Contains(report.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("check").GetString() == "store:postgresql");
            Assert.Contains("mtlsgate_store_up{kind=\"postgresql\"}", await management.GetStringAsync("/metrics"), StringComparison.Ordinal);
            Assert.False(gateway.Services.GetRequiredService<DeviceStoreHealth>().Up); // the value behind it (the registry is the process's)
        }
        finally
        {
            await cluster.StartServerAsync();
        }

        await Eventually.TrueAsync(async () =>
        {
            try
            {
                return (await store.GetAsync(sha, default))?.Allowed == 6;
            }
            catch (Npgsql.NpgsqlException)
            {
                return false; // the pool's connections were cut by the stop: the next ones work
            }
        }, Wait, "the observations made while the database was down were not written after it came back");
        await Eventually.TrueAsync(async () => (await management.GetStringAsync("/readyz")).Contains("\"state\":\"up\"", StringComparison.Ordinal), Wait, "the store never showed up again");
        Assert.Equal(1, (await store.GetAsync(TestPki.Fingerprint(Pki.GoodViaIntermediate), default))!.Denied);
    }

    [SkippableFact]
    public async Task A_gateway_started_while_the_database_is_down_serves_but_is_not_ready_until_it_loaded_the_block_list()
    {
        var cluster = postgres.Cluster;
        var database = await cluster.CreateDatabaseAsync();
        await cluster.StopServerAsync();
        TestGateway? gateway = null;
        try
        {
            gateway = await TestGateway.StartAsync(OnDatabase(database));
            using var client = gateway.Client(Pki.Good);
            using var management = new HttpClient { BaseAddress = gateway.ManagementUri, Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/while-down")).StatusCode);
            await Eventually.TrueAsync(async () => (await management.GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable, Wait, "ready without a block list");
            Assert.Contains("no block list loaded since start-up", await (await management.GetAsync("/readyz")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

            await cluster.StartServerAsync();
            await Eventually.TrueAsync(async () => (await management.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, Wait, "never ready after the database came up");
            var store = gateway.Services.GetRequiredService<IDeviceStore>();
            await Eventually.TrueAsync(async () => (await store.GetAsync(TestPki.Fingerprint(Pki.Good), default))?.Allowed == 1, Wait, "the request made while down was not written");
        }
        finally
        {
            if (gateway is not null)
            {
                await gateway.DisposeAsync();
            }

            try
            {
                await cluster.StartServerAsync();
            }
            catch (InvalidOperationException)
            {
                // already running
            }
        }
    }
}
