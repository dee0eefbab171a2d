using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// A throwaway PostgreSQL cluster (Debian's <c>postgresql</c>, see shared/design/TESTING.md): initdb into a
/// temporary folder, pg_ctl start on a free loopback port with trust authentication, one database per test
/// (<see cref="CreateDatabaseAsync"/>), stopped and deleted on dispose. The server refuses to run as root:
/// as root it runs as the <c>postgres</c> user (runuser), otherwise as the current user. Use as an xunit
/// class fixture (one cluster per test class). Missing binaries skip the tests (a failure under
/// <c>MTLSGATE_REQUIRE_TOOLS=1</c>).
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable, IDisposable
{
    private static int _databases;
    private readonly string _folder;
    private readonly string _pgCtl;
    private bool _disposed;

    private PostgresCluster(string folder, string pgCtl, int port)
    {
        _folder = folder;
        _pgCtl = pgCtl;
        Port = port;
    }

    public int Port { get; }

    public string DataDirectory => Path.Combine(_folder, "data");

    /// <summary>A connection string for <paramref name="database"/> (no password: trust authentication on loopback).</summary>
    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=5;Pooling=false";

    /// <summary>The install command shown when the server is missing.</summary>
    public const string InstallCommand = "apt-get install postgresql";

    /// <summary>Finds initdb and pg_ctl (on PATH, else Debian's /usr/lib/postgresql/N/bin), or skips.</summary>
    public static (string InitDb, string PgCtl) Binaries()
    {
        string? Find(string name)
        {
            var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists);
            if (onPath is not null)
            {
                return onPath;
            }

            return Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal)
                    .Select(d => Path.Combine(d, "bin", name)).FirstOrDefault(File.Exists)
                : null;
        }

        var initdb = Find("initdb");
        var pgCtl = Find("pg_ctl");
        if (initdb is null || pgCtl is null)
        {
            throw Tool.Missing("the PostgreSQL server (initdb, pg_ctl) is not installed", InstallCommand);
        }

        return (initdb, pgCtl);
    }

    public static async Task<PostgresCluster> StartAsync()
    {
        var (initdb, pgCtl) = Binaries();
        var folder = Directory.CreateTempSubdirectory("mtlsgate-pg-").FullName;
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            // mktemp folders are 0700: the postgres user needs its own.
            var chown = await ProcessRunner.RunAsync("chown", ["postgres", folder], TimeSpan.FromSeconds(10));
            Assert.True(chown.ExitCode == 0, chown.ToString());
        }

        var cluster = new PostgresCluster(folder, pgCtl, FreePort());
        var init = await cluster.RunAsync(initdb, ["-D", cluster.DataDirectory, "-A", "trust", "-U", "postgres", "--no-sync"], TimeSpan.FromSeconds(120));
        if (init.ExitCode != 0)
        {
            throw new InvalidOperationException("initdb failed: " + init);
        }

        await cluster.StartServerAsync();
        return cluster;
    }

    /// <summary>Starts (or restarts) the server on the same port and data.</summary>
    public async Task StartServerAsync()
    {
        var start = await RunAsync(_pgCtl, ["-D", DataDirectory, "-o", $"-p {Port} -k {_folder} -c listen_addresses=127.0.0.1 -c fsync=off", "-l", Path.Combine(_folder, "log"), "-w", "-t", "60", "start"], TimeSpan.FromSeconds(90));
        if (start.ExitCode != 0)
        {
            throw new InvalidOperationException("pg_ctl start failed: " + start + "\n" + ReadLog());
        }
    }

    /// <summary>Stops the server (fast: open connections are cut), keeping the data.</summary>
    public async Task StopServerAsync()
    {
        var stop = await RunAsync(_pgCtl, ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], TimeSpan.FromSeconds(90));
        if (stop.ExitCode != 0)
        {
            throw new InvalidOperationException("pg_ctl stop failed: " + stop);
        }
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"gate_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    private string ReadLog()
    {
        try
        {
            return File.ReadAllText(Path.Combine(_folder, "log"));
        }
        catch (IOException)
        {
            return "";
        }
    }

    private Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, TimeSpan timeout) =>
        Environment.UserName == "root"
            ? ProcessRunner.RunAsync("runuser", new[] { "-u", "postgres", "--", program }.Concat(arguments), timeout, workingDirectory: _folder)
            : ProcessRunner.RunAsync(program, arguments, timeout, workingDirectory: _folder);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsync(_pgCtl, ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"], TimeSpan.FromSeconds(60));
        }
        finally
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
