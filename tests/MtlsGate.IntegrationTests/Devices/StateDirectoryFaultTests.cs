using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Devices;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.IntegrationTests.Devices;

/// <summary>
/// The SQLite store in a state directory that fills up, or is read-only at start-up (a real, tiny tmpfs
/// mounted for the test, so even root gets ENOSPC / EROFS): requests keep flowing, /readyz says why, nothing
/// crashes, and the records are written once there is space again. (Turning the directory read-only while
/// the database is open cannot be staged: Linux refuses to remount a file system read-only while a file on
/// it is open for writing.) Needs root or password-less sudo.
/// </summary>
public sealed class StateDirectoryFaultTests
{
    private static TestPki Pki => TestPki.Instance;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task A_full_disk_stops_the_inventory_not_the_requests_and_the_records_catch_up_when_space_is_back()
    {
        await using var tmpfs = await Tmpfs.MountAsync("2m");
        await using var gateway = await TestGateway.StartAsync(c => Configure(c, tmpfs.Path));
        using var management = new HttpClient { BaseAddress = gateway.ManagementUri, Timeout = TimeSpan.FromSeconds(30) };
        await Eventually.TrueAsync(async () => await StoreStateAsync(management) == "up", Wait, "the store never came up");

        var filler = Path.Combine(tmpfs.Path, "filler");
        Fill(filler);
        using var client = gateway.Client(Pki.Good);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/while-full{i}")).StatusCode);
        }

        await Eventually.TrueAsync(async () => await StoreStateAsync(management) == "down", Wait, "the full disk was not noticed");
        var report = await ReadyzAsync(management);
        Assert.Contains("full", report.GetProperty("store").GetProperty("error").GetString()!, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/still-serving")).StatusCode);

        File.Delete(filler);
        var store = gateway.Services.GetRequiredService<IDeviceStore>();
        await Eventually.TrueAsync(async () => await StoreStateAsync(management) == "up", Wait, "the store never recovered");
        await Eventually.TrueAsync(async () => (await store.GetAsync(TestPki.Fingerprint(Pki.Good), default))?.Allowed == 6, Wait, "the records did not catch up");
    }

    [SkippableFact]
    public async Task A_read_only_state_directory_at_start_up_is_a_clear_configuration_error_not_a_crash()
    {
        await using var tmpfs = await Tmpfs.MountAsync("1m");
        await tmpfs.RemountAsync(readOnly: true);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestGateway.StartAsync(c => Configure(c, tmpfs.Path)));
        Assert.Contains("MtlsGate:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", error.Message, StringComparison.Ordinal);
    }

    private static void Configure(JsonObject config, string stateDirectory)
    {
        config["MtlsGate"]!["StateDirectory"] = stateDirectory;
        config["MtlsGate"]!["Store"] = new JsonObject { ["PollInterval"] = "00:00:00.200", ["FlushInterval"] = "00:00:00.100" };
    }

    private static async Task<JsonElement> ReadyzAsync(HttpClient management)
    {
        using var response = await management.GetAsync("/readyz");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<string?> StoreStateAsync(HttpClient management) =>
        (await ReadyzAsync(management)).GetProperty("store").GetProperty("state").GetString();

    /// <summary>Writes zeros until the file system is full.</summary>
    private static void Fill(string path)
    {
        var block = new byte[64 * 1024];
        // Unbuffered: each write reaches the file system, and disposing has nothing left to flush.
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        try
        {
            while (true)
            {
                stream.Write(block);
                stream.Flush();
            }
        }
        catch (IOException)
        {
            // ENOSPC: full. Smaller writes fill the last pages.
        }

        try
        {
            while (true)
            {
                stream.Write(block, 0, 512);
                stream.Flush();
            }
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A small tmpfs owned by the current user, mounted as root (or with password-less sudo) for one test.</summary>
    private sealed class Tmpfs : IAsyncDisposable
    {
        private Tmpfs(string path) => Path = path;

        public string Path { get; }

        public static async Task<Tmpfs> MountAsync(string size)
        {
            var folder = Directory.CreateTempSubdirectory("mtlsgate-tmpfs-").FullName;
            var uid = PrivateUid();
            var result = await RunAsync(["mount", "-t", "tmpfs", "-o", $"size={size},uid={uid.Uid},gid={uid.Gid},mode=0700", "tmpfs", folder]);
            if (result.ExitCode != 0)
            {
                Directory.Delete(folder);
                throw Tool.Missing($"cannot mount a tmpfs ({result.StandardError.Trim()})", "run the tests as root or with password-less sudo");
            }

            return new Tmpfs(folder);
        }

        public async Task RemountAsync(bool readOnly)
        {
            var result = await RunAsync(["mount", "-o", readOnly ? "remount,ro" : "remount,rw", Path]);
            Assert.True(result.ExitCode == 0, result.ToString());
        }

        public async ValueTask DisposeAsync()
        {
            SqliteConnection.ClearAllPools();
            await RunAsync(["umount", "-l", Path]);
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        private static (string Uid, string Gid) PrivateUid()
        {
            var uid = ProcessRunner.RunAsync("id", ["-u"], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult().StandardOutput.Trim();
            var gid = ProcessRunner.RunAsync("id", ["-g"], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult().StandardOutput.Trim();
            return (uid, gid);
        }

        private static Task<ProcessResult> RunAsync(string[] command) =>
            Environment.UserName == "root"
                ? ProcessRunner.RunAsync(command[0], command[1..], TimeSpan.FromSeconds(30))
                : ProcessRunner.RunAsync("sudo", ["-n", .. command], TimeSpan.FromSeconds(30));
    }
}
