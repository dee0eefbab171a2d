using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Devices;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Devices;

/// <summary>
/// <c>mtlsgate client list</c> reads the running gateway's inventory (the store its configuration names)
/// beside the certificates the CA folder issued, and <c>client block</c> writes the block list the gateway polls.
/// The CLI runs as its own process (the built binary), the gateway in-process; both on one SQLite file.
/// </summary>
public sealed class ClientInventoryCliTests
{
    [Fact]
    public async Task Client_list_shows_what_the_gateway_saw_and_client_block_is_enforced_by_the_running_gateway()
    {
        var ca = Directory.CreateTempSubdirectory("mtlsgate-ca-").FullName;
        try
        {
            Assert.Equal(0, MtlsGate.Cli.InitCommand.Run([ca, "--name", "localhost"]));
            var folder = new CaFolder(ca);
            var (phone, issued) = folder.IssueClient("phone", 30, DateTimeOffset.UtcNow);
            var (laptop, _) = folder.IssueClient("laptop", 30, DateTimeOffset.UtcNow);
            using var ownedPhone = phone;
            using var ownedLaptop = laptop;
            await using var gateway = await TestGateway.StartAsync(config =>
            {
                InventoryTests.FastStore(config);
                config["MtlsGate"]!["TrustStores"]!["Default"] = new JsonObject { ["CaBundle"] = folder.PathOf(CaFolder.CaFile) };
            });
            using var client = gateway.Client(phone);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/one")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/two")).StatusCode);
            var store = gateway.Services.GetRequiredService<IDeviceStore>();
            await Eventually.TrueAsync(async () => (await store.GetAsync(issued.Sha256, default))?.Allowed == 2, TimeSpan.FromSeconds(20), "not recorded");

            var list = await ProcessRunner.GateAsync("client", "list", "--ca", ca, "--config", gateway.ConfigFile);
            Assert.True(list.ExitCode == 0, list.ToString());
            Assert.Matches(@"phone\s+[0-9A-F]+\s+\d{4}-\d{2}-\d{2}\s+\d+\s+expiring\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}\s+2/0\s+active", list.StandardOutput);
            Assert.Matches(@"laptop\s+[0-9A-F]+\s+\d{4}-\d{2}-\d{2}\s+\d+\s+expiring\s+never\s+-\s+unseen", list.StandardOutput);

            var block = await ProcessRunner.GateAsync("client", "block", issued.Sha256, "--config", gateway.ConfigFile);
            Assert.True(block.ExitCode == 0, block.ToString());
            await Eventually.TrueAsync(async () => (await client.GetAsync("/after")).StatusCode == HttpStatusCode.NotFound, TimeSpan.FromSeconds(20), "the CLI's block was not enforced");
            Assert.Equal(DeviceActions.CliActor, (await store.HistoryAsync(issued.Sha256, 1, default)).Single().Actor);

            list = await ProcessRunner.GateAsync("client", "list", "--ca", ca, "--config", gateway.ConfigFile);
            Assert.Matches(@"phone\s+.*\s+blocked", list.StandardOutput);
            var unblock = await ProcessRunner.GateAsync("client", "unblock", "not-a-fingerprint", "--config", gateway.ConfigFile);
            Assert.Equal(2, unblock.ExitCode);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(ca, recursive: true);
        }
    }
}
