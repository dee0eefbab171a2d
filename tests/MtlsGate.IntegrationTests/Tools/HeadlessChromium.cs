using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tests.BlackBox;

namespace MtlsGate.Tests.Tools;

/// <summary>
/// Headless Chromium (Debian <c>chromium</c>) with its own TLS stack: a throwaway HOME holding an
/// NSS database (<c>libnss3-tools</c>) that trusts the test root and, optionally, holds the client
/// certificate, auto-selected by a managed <c>AutoSelectCertificateForUrls</c> policy (a
/// machine-wide file, removed on dispose). Every run is bounded: with a certificate in NSS but no
/// matching policy, headless Chromium would wait forever for a picker.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    private const string PolicyFolder = "/etc/chromium/policies/managed";
    private const string Password = "pw";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    private readonly string _chromium;
    private readonly string _home;
    private string? _policyFile;

    private HeadlessChromium(string chromium, string home)
    {
        _chromium = chromium;
        _home = home;
    }

    public static async Task<HeadlessChromium> CreateAsync(X509Certificate2 root, X509Certificate2? client, Uri site)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(site);
        var chromium = Tool.Require("chromium");
        var certutil = Tool.Require("certutil");
        var pk12util = Tool.Require("pk12util");
        var browser = new HeadlessChromium(chromium, Directory.CreateTempSubdirectory("mtlsgate-chromium-").FullName);
        try
        {
            var db = "sql:" + Path.Combine(browser._home, ".pki", "nssdb");
            Directory.CreateDirectory(Path.Combine(browser._home, ".pki", "nssdb"));
            await Check(certutil, ["-N", "-d", db, "--empty-password"]);
            var ca = Path.Combine(browser._home, "ca.pem");
            await File.WriteAllTextAsync(ca, MtlsGate.Tls.Pki.CertificatePem(root));
            await Check(certutil, ["-A", "-n", "MtlsGate Test Root", "-t", "C,,", "-i", ca, "-d", db]);
            if (client is not null)
            {
                var p12 = Path.Combine(browser._home, "client.p12");
                await File.WriteAllBytesAsync(p12, client.Export(X509ContentType.Pkcs12, Password));
                await Check(pk12util, ["-i", p12, "-d", db, "-W", Password]);
                browser.WritePolicy(site, root.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
            }

            return browser;
        }
        catch
        {
            browser.Dispose();
            throw;
        }
    }

    /// <summary>Loads <paramref name="url"/> and returns the serialized DOM.</summary>
    public async Task<ProcessResult> DumpDomAsync(Uri url) => await RunAsync(["--dump-dom", url.ToString()]);

    /// <summary>Loads <paramref name="url"/> and writes a PNG screenshot to <paramref name="file"/>.</summary>
    public async Task<ProcessResult> ScreenshotAsync(Uri url, string file) =>
        await RunAsync(["--screenshot=" + file, "--window-size=1000,400", url.ToString()]);

    private async Task<ProcessResult> RunAsync(IEnumerable<string> arguments)
    {
        var psi = ProcessRunner.StartInfo(_chromium,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + Path.Combine(_home, "ud"),
            .. arguments,
        ], _home);
        psi.Environment["HOME"] = _home;
        return await ProcessRunner.RunAsync(psi, RunTimeout);
    }

    private void WritePolicy(Uri site, string issuerCommonName)
    {
        Directory.CreateDirectory(PolicyFolder);
        var rule = new System.Text.Json.Nodes.JsonObject
        {
            ["pattern"] = $"https://{site.Host}:{site.Port}",
            ["filter"] = new System.Text.Json.Nodes.JsonObject { ["ISSUER"] = new System.Text.Json.Nodes.JsonObject { ["CN"] = issuerCommonName } },
        };
        var policy = new System.Text.Json.Nodes.JsonObject
        {
            ["AutoSelectCertificateForUrls"] = new System.Text.Json.Nodes.JsonArray(rule.ToJsonString()),
        };
        _policyFile = Path.Combine(PolicyFolder, $"mtlsgate-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(_policyFile, policy.ToJsonString());
    }

    /// <summary>The run, without Chromium's D-Bus complaints (there is no bus in a container).</summary>
    public static string Describe(ProcessResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var stderr = string.Join('\n', result.StandardError.Split('\n').Where(l => !l.Contains("dbus/", StringComparison.Ordinal)));
        return (result with { StandardError = stderr }).ToString();
    }

    private static async Task Check(string program, string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(program, arguments, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0 && !result.TimedOut, $"{Path.GetFileName(program)} {string.Join(' ', arguments)} failed: {result}");
    }

    public void Dispose()
    {
        if (_policyFile is not null)
        {
            File.Delete(_policyFile);
        }

        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
