namespace MtlsGate.Tests.BlackBox;

[CollectionDefinition(Name)]
public sealed class BlackBoxTests : ICollectionFixture<PublishedGatewayFixture>
{
    public const string Name = "BlackBox";
}

/// <summary>
/// Publishes the gateway once per test run, exactly as the Dockerfile would
/// (<c>dotnet publish src/MtlsGate -c Release -o publish</c>), and shares one running default
/// gateway (with its PKI and recording backend) among the tests that need nothing special.
/// </summary>
public sealed class PublishedGatewayFixture : IAsyncLifetime
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);
    private readonly SemaphoreSlim _defaultLock = new(1, 1);
    private GatewayEnvironment? _default;

    public string RepositoryRoot { get; } = FindRepositoryRoot();

    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("mtlsgate-blackbox-").FullName;

    public string PublishDirectory => Path.Combine(WorkDirectory, "publish");

    /// <summary>The published apphost, <c>publish/mtlsgate</c>.</summary>
    public string Executable => Path.Combine(PublishDirectory, OperatingSystem.IsWindows() ? "mtlsgate.exe" : "mtlsgate");

    public async Task InitializeAsync()
    {
        // Each fixture publishes into its own temporary folder, but every `dotnet publish` of src/MtlsGate shares
        // src/MtlsGate/obj/Release and bin/Release: test assemblies run in parallel under `dotnet test MtlsGate.sln`
        // (one test host per project), so publishes from two assemblies or two runs take turns through a lock file.
        ProcessResult result;
        await using (await PublishLockAsync())
        {
            var psi = ProcessRunner.StartInfo("dotnet", ["publish", Path.Combine(RepositoryRoot, "src", "MtlsGate"), "-c", "Release", "-o", PublishDirectory, "--nologo"], RepositoryRoot);
            result = await ProcessRunner.RunAsync(psi, PublishTimeout);
        }

        if (result.ExitCode != 0 || !File.Exists(Executable))
        {
            throw new InvalidOperationException($"dotnet publish failed: {result}");
        }
    }

    /// <summary>The shared default gateway (started on first use): standard PKI, default policy, recording backend.</summary>
    public async Task<GatewayEnvironment> GetDefaultGatewayAsync()
    {
        await _defaultLock.WaitAsync();
        try
        {
            if (_default is null)
            {
                _default = await GatewayEnvironment.StartAsync(this);
            }

            return _default;
        }
        finally
        {
            _defaultLock.Release();
        }
    }

    public async Task DisposeAsync()
    {
        if (_default is not null)
        {
            await _default.DisposeAsync();
        }

        _defaultLock.Dispose();
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>An exclusive lock (a file opened without sharing, released when closed, also by a crash) per repository.</summary>
    private async Task<FileStream> PublishLockAsync()
    {
        var name = "mtlsgate-publish-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(RepositoryRoot)))[..16] + ".lock";
        var path = Path.Combine(Path.GetTempPath(), name);
        FileStream? taken = null;
        await Eventually.TrueAsync(
            () =>
            {
                try
                {
                    taken = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                    return true;
                }
                catch (IOException)
                {
                    return false; // another publish holds it
                }
            },
            PublishTimeout,
            $"the publish lock {path} is released");
        return taken!;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MtlsGate.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No MtlsGate.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A running gateway, its backend, PKI and files, disposed together.</summary>
public sealed class GatewayEnvironment(GatewayProcess gateway, RecordingBackend backend, TestPki pki, Sandbox sandbox) : IAsyncDisposable
{
    /// <summary>
    /// Fresh PKI, sandbox and backend; <paramref name="customize"/> may change the configuration
    /// (and write more files into the sandbox) before the published gateway starts with it.
    /// </summary>
    public static async Task<GatewayEnvironment> StartAsync(PublishedGatewayFixture fixture, Action<Sandbox, TestPki, System.Text.Json.Nodes.JsonObject>? customize = null)
    {
        var backend = await RecordingBackend.StartAsync();
        var pki = TestPki.Create();
        var sandbox = Sandbox.Create(pki);
        try
        {
            var config = GatewayConfig.Default(backend.Address);
            customize?.Invoke(sandbox, pki, config);
            var gateway = await GatewayProcess.StartAsync(fixture, sandbox.WriteConfig(config));
            return new GatewayEnvironment(gateway, backend, pki, sandbox);
        }
        catch
        {
            await backend.DisposeAsync();
            sandbox.Dispose();
            pki.Dispose();
            throw;
        }
    }

    public GatewayProcess Gateway { get; } = gateway;

    public RecordingBackend Backend { get; } = backend;

    public TestPki Pki { get; } = pki;

    public Sandbox Sandbox { get; } = sandbox;

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Gateway.DisposeAsync();
            await Backend.DisposeAsync();
        }
        finally
        {
            Sandbox.Dispose();
            Pki.Dispose();
        }
    }
}
