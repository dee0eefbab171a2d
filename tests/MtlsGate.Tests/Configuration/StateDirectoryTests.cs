using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MtlsGate.Configuration;
using MtlsGate.Hosting;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Configuration;

/// <summary>
/// SECURITY.md case 26: state lives only in a private directory: created 0700, refused when another
/// user owns it, when it is group/world-writable or a symlink; files in it are written under random
/// names and renamed into place, so a symlink planted at a predictable name is never followed.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StateDirectoryTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-state-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private (GatewaySnapshot? Snapshot, IReadOnlyList<string> Errors) Compile(string stateDirectory, params (string Key, string? Value)[] more)
    {
        var pki = TestPki.Instance;
        File.WriteAllText(Path.Combine(_folder, "ca.pem"), pki.CaBundlePem);
        File.WriteAllText(Path.Combine(_folder, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.ServerLeaf));
        File.WriteAllText(Path.Combine(_folder, "server.key"), MtlsGate.Tls.Pki.KeyPem(pki.ServerLeaf));
        var values = new Dictionary<string, string?>
        {
            ["MtlsGate:Listen:Gateway"] = "https://127.0.0.1:0",
            ["MtlsGate:Listen:Management"] = "http://127.0.0.1:0",
            ["MtlsGate:ServerCertificate:Path"] = "server.pem",
            ["MtlsGate:ServerCertificate:KeyPath"] = "server.key",
            ["MtlsGate:TrustStores:Default:CaBundle"] = "ca.pem",
            ["MtlsGate:StateDirectory"] = stateDirectory,
        };
        foreach (var (key, value) in more)
        {
            values[key] = value;
        }

        return ConfigCompiler.Compile(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), _folder);
    }

    [Fact]
    public void A_missing_state_directory_is_created_0700_with_its_CRL_cache()
    {
        var state = Path.Combine(_folder, "new", "state");

        var (snapshot, errors) = Compile(state);

        Assert.Empty(errors);
        Assert.Equal(state, snapshot!.StateDirectory);
        Assert.Equal(PrivateDirectory.DirectoryMode, File.GetUnixFileMode(state));
        Assert.Equal(Path.Combine(state, "crl-cache"), snapshot.Reload.CrlCacheDirectory);
        Assert.Equal(PrivateDirectory.DirectoryMode, File.GetUnixFileMode(snapshot.Reload.CrlCacheDirectory));
    }

    [Fact]
    public void A_relative_state_directory_resolves_against_the_configuration_folder()
    {
        var (snapshot, errors) = Compile("state");

        Assert.Empty(errors);
        Assert.Equal(Path.Combine(_folder, "state"), snapshot!.StateDirectory);
    }

    [Fact]
    public void A_world_writable_state_directory_is_refused_at_start_up_naming_the_key()
    {
        var state = Directory.CreateDirectory(Path.Combine(_folder, "open")).FullName;
        File.SetUnixFileMode(state, (UnixFileMode)Convert.ToInt32("777", 8));

        var (snapshot, errors) = Compile(state);

        Assert.Null(snapshot);
        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:StateDirectory:", error, StringComparison.Ordinal);
        Assert.Contains("world-writable", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_group_writable_CrlCacheDirectory_is_refused_like_the_state_directory()
    {
        var cache = Directory.CreateDirectory(Path.Combine(_folder, "cache")).FullName;
        File.SetUnixFileMode(cache, (UnixFileMode)Convert.ToInt32("770", 8));

        var (snapshot, errors) = Compile(Path.Combine(_folder, "state"), ("MtlsGate:Reload:CrlCacheDirectory", cache));

        Assert.Null(snapshot);
        Assert.StartsWith("MtlsGate:Reload:CrlCacheDirectory:", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_state_directory_that_is_a_symlink_is_refused()
    {
        var real = Directory.CreateDirectory(Path.Combine(_folder, "real")).FullName;
        var link = Path.Combine(_folder, "link");
        Directory.CreateSymbolicLink(link, real);

        var (snapshot, errors) = Compile(link);

        Assert.Null(snapshot);
        Assert.Contains("symbolic link", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_state_directory_owned_by_another_user_is_refused()
    {
        if (PrivateDirectory.EffectiveUserId != 0)
        {
            output.WriteLine("SKIPPED: giving a directory to another user needs root (CI runs as root).");
            return;
        }

        var state = Directory.CreateDirectory(Path.Combine(_folder, "theirs")).FullName;
        File.SetUnixFileMode(state, PrivateDirectory.DirectoryMode);
        using (var chown = Process.Start("chown", ["nobody", state]))
        {
            chown.WaitForExit();
            Assert.Equal(0, chown.ExitCode);
        }

        var (snapshot, errors) = Compile(state);

        Assert.Null(snapshot);
        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:StateDirectory:", error, StringComparison.Ordinal);
        Assert.Contains("owned by uid", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refused_configuration_creates_no_state_directory()
    {
        var state = Path.Combine(_folder, "never");

        var (snapshot, _) = Compile(state, ("MtlsGate:TrustStores:Default:CaBundle", "missing.pem"));

        Assert.Null(snapshot);
        Assert.False(Directory.Exists(state));
    }

    [Fact]
    public void A_symlink_planted_at_the_mark_file_is_not_followed()
    {
        var state = Path.Combine(_folder, "state");
        var crl = Path.Combine(_folder, "root.crl");
        File.WriteAllBytes(crl, TestPki.Crl(TestPki.Instance.Root, [], number: 3));
        Assert.Empty(Compile(state).Errors);
        var victim = Path.Combine(_folder, "victim.txt");
        File.WriteAllText(victim, "root-owned content");
        File.CreateSymbolicLink(Path.Combine(state, CrlHighWaterMarks.FileName), victim);

        var (snapshot, errors) = Compile(state, ("MtlsGate:TrustStores:Default:Crls:0", crl));

        Assert.Null(snapshot);
        Assert.Contains("symbolic link", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Equal("root-owned content", File.ReadAllText(victim));
    }

    [Fact]
    public async Task A_CRL_download_replaces_a_symlink_planted_at_the_cache_name_without_following_it()
    {
        var crl = TestPki.Crl(TestPki.Instance.Root, [], number: 1);
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, "http://127.0.0.1:0");
        await using var server = builder.Build();
        Microsoft.AspNetCore.Builder.RunExtensions.Run(server, context => context.Response.Body.WriteAsync(crl).AsTask());
        await server.StartAsync();
        var url = server.Urls.First() + "/root.crl";
        var (snapshot, errors) = Compile(Path.Combine(_folder, "state"), ("MtlsGate:TrustStores:Default:CrlUrls:0", url));
        Assert.Empty(errors);
        var cache = ConfigCompiler.CrlCachePath(snapshot!.Reload.CrlCacheDirectory, new Uri(url));
        var victim = Path.Combine(_folder, "victim.txt");
        File.WriteAllText(victim, "root-owned content");
        File.CreateSymbolicLink(cache, victim);
        File.CreateSymbolicLink(cache + ".download", victim); // the name the old fetcher wrote through
        using var fetcher = new CrlFetcher(TimeProvider.System, NullLogger<CrlFetcher>.Instance);

        var outcome = await fetcher.FetchAsync(snapshot, snapshot.CrlUrls[0], CancellationToken.None);

        Assert.Equal(CrlFetchOutcome.Cached, outcome);
        Assert.Equal("root-owned content", File.ReadAllText(victim));
        Assert.Null(new FileInfo(cache).LinkTarget);
        Assert.Equal(crl, File.ReadAllBytes(cache));
        Assert.Equal(PrivateDirectory.FileMode, File.GetUnixFileMode(cache));
    }
}
