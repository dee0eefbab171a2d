using System.Security.Cryptography.Pkcs;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using MtlsGate.Cli;
using MtlsGate.Hosting;
using MtlsGate.Tests.BlackBox;
using MtlsGate.Tests.TestSupport;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tests.Cli;

/// <summary>
/// What <c>client issue</c> writes works everywhere as is: the PKCS#12 lists the leaf first (so
/// <c>openssl pkcs12 -nodes</c> output is a working curl <c>--cert</c> file), and <c>--pem</c> writes a
/// certificate chain and a 0600 key that curl uses. Served by a real gateway started from init's folder.
/// </summary>
public sealed class ClientIssueFilesTests : IDisposable
{
    private const string Password = "s3cret pw";

    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-issue-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Ca => Path.Combine(_folder, "ca");

    private string Clients => Path.Combine(Ca, "clients");

    private static Task<ProcessResult> GateAsync(params string[] args) => ProcessRunner.GateAsync(args);

    private async Task IssueAsync(string name, params string[] extra)
    {
        if (!File.Exists(Path.Combine(Ca, "ca.key")))
        {
            var init = await GateAsync("init", Ca);
            Assert.True(init.ExitCode == 0, init.StandardError);
        }

        var issue = await GateAsync(["client", "issue", name, "--ca", Ca, "--password", Password, .. extra]);
        Assert.True(issue.ExitCode == 0, issue.StandardOutput + issue.StandardError);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientIssue_Pkcs12_HasTheLeafAsItsFirstCertificateBag_ThenTheCa_InBothEncryptions(bool compatible)
    {
        await IssueAsync("phone", compatible ? ["--compatible"] : []);
        var p12 = Path.Combine(Clients, "phone.p12");

        var info = Pkcs12Info.Decode(await File.ReadAllBytesAsync(p12), out _, skipCopy: true);
        var certificates = new List<X509Certificate2>();
        foreach (var safe in info.AuthenticatedSafe)
        {
            if (safe.ConfidentialityMode == Pkcs12ConfidentialityMode.Password)
            {
                safe.Decrypt(Password);
            }

            certificates.AddRange(safe.GetBags().OfType<Pkcs12CertBag>().Select(bag => bag.GetCertificate()));
        }

        Assert.True(info.VerifyMac(Password));
        Assert.Equal(["CN=phone, O=MtlsGate devices", "CN=MtlsGate CA localhost, O=MtlsGate"], certificates.Select(c => c.Subject));

        // .NET's own loader still reads both forms, key included.
        using var leaf = X509CertificateLoader.LoadPkcs12FromFile(p12, Password);
        Assert.True(leaf.HasPrivateKey);
        Assert.Equal("CN=phone, O=MtlsGate devices", leaf.Subject);
        Assert.Equal(2, X509CertificateLoader.LoadPkcs12CollectionFromFile(p12, Password).Count);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientIssue_Pkcs12_ConvertedWithOpensslNodes_IsACurlCertFileAsIs_200(bool compatible)
    {
        await IssueAsync("phone", compatible ? ["--compatible"] : []);
        var pem = Path.Combine(_folder, "phone-converted.pem");

        var convert = await ProcessRunner.RunAsync("openssl",
            ["pkcs12", "-in", Path.Combine(Clients, "phone.p12"), "-nodes", "-out", pem, "-passin", "pass:" + Password], TimeSpan.FromSeconds(30));
        Assert.True(convert.ExitCode == 0, convert.ToString());
        var converted = new X509Certificate2Collection();
        converted.ImportFromPemFile(pem);
        Assert.Equal(["CN=phone, O=MtlsGate devices", "CN=MtlsGate CA localhost, O=MtlsGate"], converted.Select(c => c.Subject));

        await using var gateway = await InitGateway.StartAsync(Ca);
        var withCert = await gateway.CurlAsync(["--cert", pem]);
        var without = await gateway.CurlAsync([]);

        Assert.True(withCert.Status == 200, withCert.ToString());
        Assert.True(without.Status == 404, without.ToString());
    }

    [SkippableFact]
    public async Task ClientIssue_Pem_WritesLeafThenCa_AndAnOwnerOnlyKey_ThatCurlUses_200()
    {
        await IssueAsync("laptop", "--pem");
        var pem = Path.Combine(Clients, "laptop.pem");
        var key = Path.Combine(Clients, "laptop.key");

        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(pem);
        Assert.Equal(["CN=laptop, O=MtlsGate devices", "CN=MtlsGate CA localhost, O=MtlsGate"], chain.Select(c => c.Subject));
        Assert.DoesNotContain("PRIVATE KEY", await File.ReadAllTextAsync(pem), StringComparison.Ordinal);
        using (var paired = X509Certificate2.CreateFromPemFile(pem, key))
        {
            Assert.True(paired.HasPrivateKey);
        }

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Clients, "laptop.p12")));
        }

        await using var gateway = await InitGateway.StartAsync(Ca);
        var withCert = await gateway.CurlAsync(["--cert", pem, "--key", key]);

        Assert.True(withCert.Status == 200, withCert.ToString());
    }

    [Fact]
    public async Task ClientIssue_Pem_NameAfterTheOption_IsStillTheName()
    {
        await GateAsync("init", Ca);

        var issue = await GateAsync("client", "issue", "--pem", "tablet", "--ca", Ca, "--password", Password);

        Assert.True(issue.ExitCode == 0, issue.StandardOutput + issue.StandardError);
        Assert.True(File.Exists(Path.Combine(Clients, "tablet.pem")));
        Assert.True(File.Exists(Path.Combine(Clients, "tablet.key")));
    }

    [Fact]
    public async Task ClientIssue_WithoutPem_WritesNoKeyFile()
    {
        await IssueAsync("watch");

        Assert.Equal(["watch.p12"], Directory.GetFiles(Clients).Select(Path.GetFileName));
    }
}

/// <summary>The gateway serving the starter configuration <c>init</c> wrote (ports and backend replaced for the test), driven with curl.</summary>
internal sealed class InitGateway : IAsyncDisposable
{
    private readonly Destination _destination;
    private readonly WebApplication _app;
    private readonly string _caFile;

    private InitGateway(Destination destination, WebApplication app, int port, string caFile)
    {
        _destination = destination;
        _app = app;
        Port = port;
        _caFile = caFile;
    }

    public int Port { get; }

    public static async Task<InitGateway> StartAsync(string caFolder)
    {
        var destination = await Destination.StartAsync();
        var settings = Path.Combine(caFolder, "appsettings.json");
        var config = JsonNode.Parse(await File.ReadAllTextAsync(settings))!.AsObject();
        config["MtlsGate"]!["Listen"] = new JsonObject { ["Gateway"] = "https://127.0.0.1:0", ["Management"] = "http://127.0.0.1:0" };
        config["ReverseProxy"]!["Clusters"]!["app"]!["Destinations"]!["d1"]!["Address"] = destination.Address.ToString();
        await File.WriteAllTextAsync(settings, config.ToJsonString());
        var build = CommandLine.Build(["--config", settings], includeAppSettings: false);
        Assert.Empty(build.Errors);
        await build.App!.StartAsync();
        return new InitGateway(destination, build.App, GatewayApp.BoundAddresses(build.App).Gateway[0].Port, Path.Combine(caFolder, "ca.pem"));
    }

    /// <summary>curl with the CA as its only trust and <paramref name="client"/> options (--cert/--key), against <c>https://localhost:PORT/vault</c>.</summary>
    public async Task<CurlResult> CurlAsync(string[] client) =>
        Curl.Parse(await ProcessRunner.RunAsync("curl",
            ["-sS", "-i", "--max-time", "10", "--cacert", _caFile, .. client, $"https://localhost:{Port}/vault"], TimeSpan.FromSeconds(20)));

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _destination.DisposeAsync();
    }
}
