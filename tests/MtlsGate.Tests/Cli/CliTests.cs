using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using MtlsGate.Cli;
using MtlsGate.Hosting;
using MtlsGate.Tests.TestSupport;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tests.Cli;

/// <summary>The CLI verbs, run as the real program (<c>dotnet mtlsgate.dll …</c>) in a temporary CA folder.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Ca => Path.Combine(_folder, "ca");

    private static Task<ProcessResult> RunAsync(params string[] args) => ProcessRunner.GateAsync(args);

    [Fact]
    public async Task InitIssueServeRevoke_APhoneCertificateWorks_UntilRevoked_WithoutARestart()
    {
        Assert.Equal(0, (await RunAsync("init", Ca, "--name", "localhost", "--name", "127.0.0.1")).ExitCode);
        var issue = await RunAsync("client", "issue", "phone", "--ca", Ca, "--password", "correct horse");
        Assert.Equal(0, issue.ExitCode);
        Assert.Contains("Bitwarden", issue.StandardOutput, StringComparison.Ordinal);
        var p12 = Path.Combine(Ca, "clients", "phone.p12");
        using var phone = X509CertificateLoader.LoadPkcs12FromFile(p12, "correct horse", X509KeyStorageFlags.Exportable);
        var bundle = X509CertificateLoader.LoadPkcs12CollectionFromFile(p12, "correct horse");
        Assert.True(phone.HasPrivateKey);
        Assert.Equal(2, bundle.Count); // key + full chain
        Assert.True(MtlsGate.Tls.ChainValidator.LeafUsageIsClientAuth(phone));
        Assert.Single(phone.Extensions.OfType<X509EnhancedKeyUsageExtension>());

        // Serve the starter configuration init wrote (ports and backend overridden for the test).
        var destination = await Destination.StartAsync();
        await using var _ = destination;
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Ca, "appsettings.json")))!.AsObject();
        config["MtlsGate"]!["Listen"] = new JsonObject { ["Gateway"] = "https://127.0.0.1:0", ["Management"] = "http://127.0.0.1:0" };
        config["MtlsGate"]!["Reload"] = new JsonObject { ["PollInterval"] = "00:00:00.100" };
        config["ReverseProxy"]!["Clusters"]!["app"]!["Destinations"]!["d1"]!["Address"] = destination.Address.ToString();
        await File.WriteAllTextAsync(Path.Combine(Ca, "appsettings.json"), config.ToJsonString());
        var build = CommandLine.Build(["--config", Path.Combine(Ca, "appsettings.json")], includeAppSettings: false);
        Assert.Empty(build.Errors);
        await using var app = build.App!;
        await app.StartAsync();
        var port = GatewayApp.BoundAddresses(app).Gateway[0].Port;
        var caCertificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Ca, "ca.pem"));

        using var client = PhoneClient(port, phone, caCertificate);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/vault")).StatusCode);

        var revoke = await RunAsync("client", "revoke", "phone", "--ca", Ca);
        Assert.Equal(0, revoke.ExitCode);
        var status = HttpStatusCode.OK;
        await Eventually.TrueAsync(async () => (status = (await client.GetAsync("/vault")).StatusCode) != HttpStatusCode.OK, TimeSpan.FromSeconds(10), "the revoked phone is refused");

        Assert.Equal(HttpStatusCode.NotFound, status);
        var list = await RunAsync("client", "list", "--ca", Ca);
        Assert.Matches(@"phone\s+[0-9A-F]+\s+\d{4}-\d{2}-\d{2}\s+\d+\s+revoked", list.StandardOutput);
    }

    [SkippableFact]
    public async Task ClientIssue_Compatible_Writes3DesSha1_AndTheDefaultWritesAes256()
    {
        await RunAsync("init", Ca);
        await RunAsync("client", "issue", "modern", "--ca", Ca, "--password", "pw");
        await RunAsync("client", "issue", "legacy", "--ca", Ca, "--password", "pw", "--compatible");

        var modern = await OpensslInfoAsync(Path.Combine(Ca, "clients", "modern.p12"));
        var legacy = await OpensslInfoAsync(Path.Combine(Ca, "clients", "legacy.p12"));

        Assert.Contains("AES-256-CBC", modern, StringComparison.Ordinal);
        Assert.Contains("pbeWithSHA1And3-KeyTripleDES-CBC", legacy, StringComparison.Ordinal);
        Assert.Contains("MAC: sha1", legacy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientIssue_WithoutPassword_GeneratesOneAndPrintsItOnce()
    {
        await RunAsync("init", Ca);

        var issue = await RunAsync("client", "issue", "laptop", "--ca", Ca);

        var password = System.Text.RegularExpressions.Regex.Match(issue.StandardOutput, @"password (\S+)\s+\(shown once").Groups[1].Value;
        Assert.Equal(20, password.Length);
        Assert.True(X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(Ca, "clients", "laptop.p12"), password).HasPrivateKey);
        Assert.DoesNotContain(password, await File.ReadAllTextAsync(Path.Combine(Ca, "issued.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_RefusesToOverwriteAnExistingCa()
    {
        Assert.Equal(0, (await RunAsync("init", Ca)).ExitCode);
        var key = await File.ReadAllTextAsync(Path.Combine(Ca, "ca.key"));

        var again = await RunAsync("init", Ca);

        Assert.Equal(2, again.ExitCode);
        Assert.Equal(key, await File.ReadAllTextAsync(Path.Combine(Ca, "ca.key")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Ca, "ca.key")));
        }
    }

    [Fact]
    public async Task Verify_ExplainsAndExitsZeroOneOrTwo()
    {
        await RunAsync("init", Ca);
        await RunAsync("client", "issue", "tablet", "--ca", Ca, "--password", "pw");
        var bundle = X509CertificateLoader.LoadPkcs12CollectionFromFile(Path.Combine(Ca, "clients", "tablet.p12"), "pw");
        var pem = Path.Combine(_folder, "tablet.pem");
        await File.WriteAllTextAsync(pem, MtlsGate.Tls.Pki.CertificatePem(bundle.Single(c => c.HasPrivateKey)));
        var config = Path.Combine(Ca, "appsettings.json");

        var accepted = await RunAsync("verify", pem, "--config", config, "--path", "/api/sync");
        var future = await RunAsync("verify", pem, "--config", config, "--at", DateTimeOffset.UtcNow.AddYears(2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        var foreign = Path.Combine(_folder, "foreign.pem");
        await File.WriteAllTextAsync(foreign, MtlsGate.Tls.Pki.CertificatePem(TestPki.Instance.Good));
        var untrusted = await RunAsync("verify", foreign, "--config", config);
        var broken = await RunAsync("verify", pem, "--config", Path.Combine(_folder, "missing.json"));
        var garbage = await RunAsync("verify", pem, "--config", config, "--at", "yesterday-ish");

        Assert.Equal(0, accepted.ExitCode);
        Assert.Contains("decision     Allow", accepted.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, future.ExitCode);
        Assert.Contains("Expired", future.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, untrusted.ExitCode);
        Assert.Contains("Untrusted", untrusted.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(2, broken.ExitCode);
        Assert.Equal(2, garbage.ExitCode);
    }

    [Fact]
    public async Task Check_PrintsEveryRoutesEffectivePolicy_AndFailsWithEveryError()
    {
        await RunAsync("init", Ca);
        var good = await RunAsync("check", "--config", Path.Combine(Ca, "appsettings.json"));
        File.Delete(Path.Combine(Ca, "ca.crl"));
        File.Delete(Path.Combine(Ca, "server.key"));
        var bad = await RunAsync("check", "--config", Path.Combine(Ca, "appsettings.json"));

        Assert.Equal(0, good.ExitCode);
        Assert.Matches(@"app\s+\{\*\*catch-all\}\s+Default\*?\s+Certificate\s+Enforce", good.StandardOutput);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("MtlsGate:TrustStores:Default:Crls:0", bad.StandardError, StringComparison.Ordinal);
        Assert.Contains("MtlsGate:ServerCertificate:KeyPath", bad.StandardError, StringComparison.Ordinal);
    }

    private static HttpClient PhoneClient(int port, X509Certificate2 certificate, X509Certificate2 ca)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                ClientCertificates = [certificate],
                RemoteCertificateValidationCallback = (_, server, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return server is X509Certificate2 s && chain.Build(s);
                },
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri($"https://localhost:{port}/") };
    }

    private static async Task<string> OpensslInfoAsync(string file)
    {
        var (_, output, error) = await ProcessRunner.RunAsync("openssl", "pkcs12", "-info", "-noout", "-in", file, "-passin", "pass:pw");
        return output + error;
    }
}
