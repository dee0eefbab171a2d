using System.Collections.Concurrent;
using MtlsGate.Cli;

namespace MtlsGate.Tests.Cli;

/// <summary>Secrets the CLI writes are 0600 from the moment they exist, whatever the umask, and replace (never reuse) an existing file.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PrivateFileTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-private-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [SkippableFact]
    public void CreateExclusive_TheFileIsOwnerOnly_BeforeAnyByteIsWritten()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        var path = Path.Combine(_folder, "ca.key");

        using (var stream = MtlsGate.Tls.PrivateDirectory.CreateExclusive(path))
        {
            Assert.Equal(0, stream.Length);
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(path));
        }

        Assert.Throws<IOException>(() => MtlsGate.Tls.PrivateDirectory.CreateExclusive(path).Dispose());
    }

    [SkippableFact]
    public async Task Write_ReplacesAWorldReadableFile_WithANewOwnerOnlyFile_AndNeverWritesIntoTheOldOne()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        var path = Path.Combine(_folder, "phone.p12");
        await File.WriteAllTextAsync(path, "old");
        File.SetUnixFileMode(path, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        await using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        PrivateFile.Write(path, "secret");

        Assert.Equal(OwnerOnly, File.GetUnixFileMode(path));
        Assert.Equal("secret", await File.ReadAllTextAsync(path));
        using var old = new StreamReader(reader);
        Assert.Equal("old", await old.ReadToEndAsync()); // a reader of the loose file never sees the secret
        Assert.Equal(["phone.p12"], Directory.GetFiles(_folder).Select(Path.GetFileName)); // no temporary file left
    }

    /// <summary>
    /// Under umask 000 (a plain file would be 0666) every key and PKCS#12 that init and client issue write is
    /// 0600, both when a watcher sees it appear and at the end; ca.pem shows the umask was in force.
    /// </summary>
    [SkippableFact]
    public async Task InitAndClientIssue_UnderUmask000_CreateEverySecretOwnerOnly()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        var ca = Path.Combine(_folder, "ca");
        var clients = Path.Combine(ca, "clients");
        Directory.CreateDirectory(clients); // watched from the start (a folder created later may be watched too late)
        var seen = new ConcurrentQueue<(string Path, UnixFileMode Mode)>();
        using var watcher = new FileSystemWatcher(ca) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName };
        void Observe(string path)
        {
            try
            {
                seen.Enqueue((path, File.GetUnixFileMode(path)));
            }
            catch (IOException)
            {
                // Renamed away already (a temporary file).
            }
        }

        watcher.Created += (_, e) => Observe(e.FullPath);
        watcher.Renamed += (_, e) => Observe(e.FullPath);
        watcher.EnableRaisingEvents = true;

        var dll = Path.Combine(AppContext.BaseDirectory, "mtlsgate.dll");
        var script = $"umask 000 && dotnet '{dll}' init '{ca}' >/dev/null && dotnet '{dll}' client issue phone --ca '{ca}' --password pw --pem >/dev/null";
        var run = await ProcessRunner.RunAsync("sh", ["-c", script], TimeSpan.FromSeconds(120));
        Assert.True(run.ExitCode == 0, run.ToString());

        string[] secrets = ["ca.key", "server.key", Path.Combine("clients", "phone.p12"), Path.Combine("clients", "phone.key")];
        Assert.All(secrets, s => Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(ca, s))));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite,
            File.GetUnixFileMode(Path.Combine(ca, "ca.pem")));
        var secretNames = new[] { "ca.key", "server.key", "phone.p12", "phone.key" };
        var observed = seen.Where(s => secretNames.Any(n => Path.GetFileName(s.Path).Contains(n, StringComparison.Ordinal))).ToList();
        Assert.All(observed, s => Assert.True(s.Mode == OwnerOnly, $"{s.Path} was {s.Mode} when it appeared"));
    }
}
