using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Devices;
using MtlsGate.Policy;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Devices;

/// <summary>
/// The inventory and the block list in the real gateway (in-process, real TLS on loopback, SQLite in
/// the test's state directory): what a request records, what it never records, a block on an open
/// connection, revoke through the CA folder, readiness and metrics.
/// </summary>
public sealed class InventoryTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static TestPki Pki => TestPki.Instance;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    internal static void FastStore(JsonObject config, int? maxPending = null)
    {
        var store = new JsonObject { ["PollInterval"] = "00:00:00.200", ["FlushInterval"] = "00:00:00.100" };
        if (maxPending is { } max)
        {
            store["MaxPendingDevices"] = max;
        }

        config["MtlsGate"]!["Store"] = store;
    }

    private static async Task<DeviceRecord> RecordedAsync(TestGateway gateway, string sha256, Func<DeviceRecord, bool> until)
    {
        var store = gateway.Services.GetRequiredService<IDeviceStore>();
        DeviceRecord? device = null;
        await Eventually.TrueAsync(async () => (device = await store.GetAsync(sha256, default)) is { } d && until(d), Wait, () => $"not recorded yet: {device}");
        return device!;
    }

    [Fact]
    public async Task Requests_with_a_certificate_are_recorded_with_counts_address_and_user_agent_but_never_the_url_query_or_other_headers()
    {
        await using var gateway = await TestGateway.StartAsync(c => FastStore(c));
        using var client = gateway.Client(Pki.Good);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/vault-path-marker/items?access_token=QUERY-MARKER");
        request.Headers.UserAgent.ParseAdd("Bitwarden_Mobile/2025.2");
        request.Headers.Add("X-Other", "HEADER-MARKER");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "BEARER-MARKER");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/second")).StatusCode);
        using (var anonymous = gateway.Client(null))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/no-certificate")).StatusCode);
        }

        using (var untrusted = gateway.Client(Pki.OtherRootLeaf))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await untrusted.GetAsync("/untrusted")).StatusCode);
        }

        var sha = TestPki.Fingerprint(Pki.Good);
        var device = await RecordedAsync(gateway, sha, d => d.Allowed == 2);
        Assert.Equal(Pki.Good.Subject, device.Subject);
        Assert.Equal(Pki.Good.Issuer, device.Issuer);
        Assert.Equal(MtlsGate.Text.SerialNumber.Normalize(Pki.Good.SerialNumberBytes.Span), device.Serial);
        Assert.Equal(new DateTimeOffset(Pki.Good.NotAfter.ToUniversalTime(), TimeSpan.Zero), device.NotAfter);
        Assert.Equal("127.0.0.1", device.LastAddress);
        Assert.Equal("direct", device.Source);
        Assert.Equal(0, device.Denied);
        Assert.Equal(DeviceStatus.Active, device.Status);
        Assert.True(device.FirstSeen <= device.LastSeen && device.FirstSeen != default);
        Assert.Equal("Bitwarden_Mobile/2025.2", device.LastUserAgent); // the second request sent none: the last one sent is kept

        // Only certificates that chain to a configured CA are recorded: anyone can make the others.
        var store = gateway.Services.GetRequiredService<IDeviceStore>();
        Assert.Null(await store.GetAsync(TestPki.Fingerprint(Pki.OtherRootLeaf), default));
        Assert.Equal(1, await store.CountAsync(new DeviceQuery(null, null, DateTimeOffset.UtcNow), default));

        // Nothing of the URL, the query, or another header is in the database (its file and its WAL).
        var file = Path.Combine(gateway.Folder, "state", "devices.db");
        var bytes = Encoding.Latin1.GetString([.. File.ReadAllBytes(file), .. File.Exists(file + "-wal") ? File.ReadAllBytes(file + "-wal") : []]);
        foreach (var marker in new[] { "vault-path-marker", "QUERY-MARKER", "HEADER-MARKER", "BEARER-MARKER", "/second" })
        {
            Assert.DoesNotContain(marker, bytes, StringComparison.Ordinal);
        }

        Assert.Contains("Bitwarden_Mobile/2025.2", bytes, StringComparison.Ordinal); // the User-Agent is (from the first request)
    }

    [Fact]
    public async Task Block_denies_the_next_request_on_an_already_open_connection_and_unblock_lets_it_through_again()
    {
        await using var gateway = await TestGateway.StartAsync(c => FastStore(c));
        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/before"), StringComparison.Ordinal);

        var sha = TestPki.Fingerprint(Pki.Good);
        var actions = gateway.Services.GetRequiredService<DeviceActions>();
        var blocked = await actions.BlockAsync(sha.ToUpperInvariant(), DeviceActions.LoopbackActor, default);
        Assert.True(blocked.Ok, blocked.Message);

        var after = await Http1.SendAsync(ssl, "/after-block");
        Assert.StartsWith("HTTP/1.1 404", after, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after-block");

        Assert.True((await actions.UnblockAsync(sha, DeviceActions.LoopbackActor, default)).Ok);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/after-unblock"), StringComparison.Ordinal);

        var device = await RecordedAsync(gateway, sha, d => d.Allowed == 2 && d.Denied == 1);
        Assert.Equal("Blocked", device.LastDenyReason);
        var history = await gateway.Services.GetRequiredService<IDeviceStore>().HistoryAsync(sha, 10, default);
        Assert.Equal(["Active", "Blocked"], history.Select(e => e.Kind));
        Assert.All(history, e => Assert.Equal(DeviceActions.LoopbackActor, e.Actor));
    }

    [Fact]
    public async Task A_block_written_to_the_store_by_someone_else_is_enforced_within_the_poll_interval()
    {
        await using var gateway = await TestGateway.StartAsync(c => FastStore(c));
        using var client = gateway.Client(Pki.Good);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/before")).StatusCode);
        // Another process (the CLI, another replica) writes the block: this gateway reads it at its next poll.
        await using (var other = new SqliteDeviceStore(Path.Combine(gateway.Folder, "state", "devices.db")))
        {
            await other.SetStatusAsync(TestPki.Fingerprint(Pki.Good), DeviceStatus.Revoked, DeviceActions.CliActor, DateTimeOffset.UtcNow, default);
        }

        var blockList = gateway.Services.GetRequiredService<DeviceBlockList>();
        await Eventually.TrueAsync(() => blockList.VerdictFor(TestPki.Fingerprint(Pki.Good)) == DenyReason.Revoked, Wait, "the block list was not polled");
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/after")).StatusCode);
        var unblock = await gateway.Services.GetRequiredService<DeviceActions>().UnblockAsync(TestPki.Fingerprint(Pki.Good), DeviceActions.CliActor, default);
        Assert.False(unblock.Ok); // revocation is final
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/still")).StatusCode);
    }

    [Fact]
    public async Task Revoke_with_the_CA_folder_re_signs_its_CRL_which_the_gateway_reloads()
    {
        var ca = Directory.CreateTempSubdirectory("mtlsgate-ca-").FullName;
        try
        {
            Assert.Equal(0, MtlsGate.Cli.InitCommand.Run([ca, "--name", "localhost"]));
            var folder = new CaFolder(ca);
            var (leaf, issued) = folder.IssueClient("phone", 30, DateTimeOffset.UtcNow);
            using var owned = leaf;
            await using var gateway = await TestGateway.StartAsync(config =>
            {
                FastStore(config);
                TestGateway.FastReload(config);
                config["MtlsGate"]!["TrustStores"]!["Default"] = new JsonObject { ["CaBundle"] = folder.PathOf(CaFolder.CaFile), ["Crls"] = new JsonArray(folder.PathOf(CaFolder.CrlFile)) };
                config["MtlsGate"]!["Enrollment"] = new JsonObject { ["CaFolder"] = ca };
            });
            using var client = gateway.Client(leaf);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/before")).StatusCode);
            await RecordedAsync(gateway, issued.Sha256, d => d.Allowed == 1);

            var crlBefore = File.ReadAllText(folder.PathOf(CaFolder.CrlFile));
            DeviceActionResult? result = null;
            Assert.True(await gateway.WaitForReloadAsync(() => result = gateway.Services.GetRequiredService<DeviceActions>().RevokeAsync(issued.Sha256, "CN=admin", default).GetAwaiter().GetResult()));
            Assert.True(result!.Ok && result.CrlResigned, result.Message);
            Assert.NotEqual(crlBefore, File.ReadAllText(folder.PathOf(CaFolder.CrlFile)));
            Assert.NotNull(folder.LoadRecord().Certificates.Single(c => c.Sha256 == issued.Sha256).RevokedAt);
            var crl = gateway.State.Current.TrustStores["Default"].Revocation.Crls.Single();
            Assert.Contains(issued.Serial, (IReadOnlySet<string>)crl.Crl.RevokedSerials);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/after")).StatusCode);
        }
        finally
        {
            Directory.Delete(ca, recursive: true);
        }
    }

    [Fact]
    public async Task Readyz_names_the_store_and_metrics_show_it_up_with_drops_and_expiring_devices()
    {
        await using var gateway = await TestGateway.StartAsync(c => FastStore(c, maxPending: 1));
        using (var first = gateway.Client(Pki.Good))
        using (var second = gateway.Client(Pki.GoodViaIntermediate, chain: [Pki.Intermediate]))
        {
            Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/a")).StatusCode);
            // The queue holds one device: the second one is dropped (counted), and served all the same.
            Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/b")).StatusCode);
        }

        await RecordedAsync(gateway, TestPki.Fingerprint(Pki.Good), d => d.Allowed == 1);
        using var management = new HttpClient { BaseAddress = gateway.ManagementUri, Timeout = TimeSpan.FromSeconds(30) };
        JsonElement store = default;
        await Eventually.TrueAsync(async () =>
        {
            store = JsonDocument.Parse(await management.GetStringAsync("/readyz")).RootElement.GetProperty("store");
            return store.GetProperty("state").GetString() == "up";
        }, Wait, () => store.ToString());
        Assert.Equal("sqlite", store.GetProperty("kind").GetString());
        Assert.Equal(SqlDeviceStore.CurrentVersion, store.GetProperty("schemaVersion").GetInt32());

        var metrics = await management.GetStringAsync("/metrics");
        output.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.Contains("store", StringComparison.Ordinal) || l.Contains("device", StringComparison.Ordinal) || l.Contains("inventory", StringComparison.Ordinal))));
        // /metrics is one registry for the process, and other tests run gateways in parallel: the values
        // printed may be another instance's, so the names are checked there and the values here.
        Assert.Contains("mtlsgate_store_up{kind=\"sqlite\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("mtlsgate_inventory_dropped", metrics, StringComparison.Ordinal);
        Assert.Contains("mtlsgate_devices_expiring{within_days=\"30\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("mtlsgate_devices_denied{status=\"Blocked\"}", metrics, StringComparison.Ordinal);
        Assert.True(gateway.Services.GetRequiredService<DeviceStoreHealth>().Up);
        Assert.True(gateway.Services.GetRequiredService<DeviceInventory>().Dropped >= 1);
    }

    [Fact]
    public async Task What_is_still_in_memory_when_the_gateway_stops_is_written_before_it_ends()
    {
        // Writes only at shutdown: the periodic flush would come in an hour.
        await using var gateway = await TestGateway.StartAsync(config => config["MtlsGate"]!["Store"] = new JsonObject { ["FlushInterval"] = "01:00:00" });
        using (var client = gateway.Client(Pki.Good))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/only-request")).StatusCode);
        }

        await gateway.StopAsync();
        await using var reader = new SqliteDeviceStore(Path.Combine(gateway.Folder, "state", "devices.db"));
        var device = await reader.GetAsync(TestPki.Fingerprint(Pki.Good), default);
        Assert.NotNull(device);
        Assert.Equal(1, device.Allowed);
        SqliteConnection.ClearAllPools();
    }
}
