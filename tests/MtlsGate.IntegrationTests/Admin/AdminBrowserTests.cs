using System.Net;
using System.Text.RegularExpressions;
using MtlsGate.Text;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Admin;

/// <summary>
/// The admin page in a real browser (headless Chromium through Playwright) against the real gateway:
/// the table lists a device that connected; Block refuses its next request on the connection it already
/// has open; "Add device" shows a QR code whose link (decoded from the pixels by ZXing.Net and by
/// zbarimg) downloads a .p12 that NSS's pk12util imports and curl then uses for a 200, after which the
/// page says "enrolled". The screenshots of the list and the detail page are the README's (docs/).
/// </summary>
[Collection(Tools.OneChromiumAtATime.Name)]
public sealed partial class AdminBrowserTests(ITestOutputHelper output)
{
    private static TestPki Pki => TestPki.Instance;

    [SkippableFact]
    public async Task The_page_lists_blocks_and_enrols_a_device_in_Chromium()
    {
        var zbarimg = Tool.Require("zbarimg");
        var pk12util = Tool.Require("pk12util");
        var certutil = Tool.Require("certutil");
        var openssl = Tool.Require("openssl");
        Tool.Require("curl");
        using var ca = new EnrollmentCa();
        await using var gateway = await TestGateway.StartAsync(ca.Configure);
        var screenshots = Tool.ArtifactFolder("admin");
        var sha = Fingerprint.Sha256(Pki.Good);
        await using var connection = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(connection, "/vault/api/sync"), StringComparison.Ordinal);
        // Two more devices for a fuller table: one allowed through an intermediate, one refused (expired).
        using (var other = gateway.Client(Pki.GoodViaIntermediate, chain: [Pki.Intermediate]))
        using (var expired = gateway.Client(Pki.Expired))
        {
            Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/vault/")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await expired.GetAsync("/vault/")).StatusCode);
        }

        await using var browser = await AdminBrowser.StartAsync();
        var page = browser.Page;
        var admin = new Uri(gateway.ManagementUri, "/admin");

        // The table: the device appears (the page refreshes itself every 5 s).
        await page.GotoAsync(admin.AbsoluteUri);
        var row = page.Locator($"tr[data-sha256='{sha}']");
        await row.WaitForAsync();
        Assert.Contains("good-device", await row.InnerTextAsync(), StringComparison.Ordinal);
        await page.Locator($"tr[data-sha256='{Fingerprint.Sha256(Pki.Expired)}']").WaitForAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "admin-devices.png"), FullPage = true });

        // The detail page, and Block.
        await page.GotoAsync(new Uri(gateway.ManagementUri, $"/admin/devices/{sha}").AbsoluteUri);
        await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Block" }).ClickAsync();
        await page.Locator("p.note").WaitForAsync();
        Assert.Contains("Blocked", await page.Locator("p.note").InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "admin-device.png"), FullPage = true });
        var after = await Http1.SendAsync(connection, "/vault/api/sync?after");
        Assert.StartsWith("HTTP/1.1 404", after, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.RawTarget.Contains("after", StringComparison.Ordinal));

        // Add device: the QR code, decoded two ways.
        await page.GotoAsync(new Uri(gateway.ManagementUri, "/admin/enroll").AbsoluteUri);
        await page.FillAsync("input[name=name]", "alice-phone");
        await page.ClickAsync("button[type=submit]");
        await page.Locator("img.qr").WaitForAsync();
        var shownLink = await page.Locator("code.link").InnerTextAsync();
        var password = await page.Locator("code.password").InnerTextAsync();
        var qrFile = Path.Combine(screenshots, "admin-enroll.png");
        await page.ScreenshotAsync(new() { Path = qrFile, FullPage = true });
        var decoded = await browser.DecodeQrInProcessAsync("img.qr");
        var scanned = await ProcessRunner.RunAsync(zbarimg, ["--quiet", "--raw", qrFile], TimeSpan.FromSeconds(30));
        output.WriteLine($"link {shownLink}; ZXing {decoded}; zbarimg {scanned}");
        Assert.Equal(shownLink, decoded);
        Assert.Equal(shownLink, scanned.StandardOutput.Trim());
        Assert.DoesNotContain(password, decoded, StringComparison.Ordinal);
        Assert.Matches(TokenLink(), decoded);

        // The phone's side: download without a certificate, import, connect.
        using var work = new TempFolder();
        using var anonymous = gateway.Client(null);
        var link = new Uri(decoded);
        Assert.Equal(gateway.GatewayUri.Port, link.Port);
        var p12 = work.Path("alice-phone.p12");
        await File.WriteAllBytesAsync(p12, await anonymous.GetByteArrayAsync(link.PathAndQuery));
        var db = "sql:" + work.Path("nssdb");
        Directory.CreateDirectory(work.Path("nssdb"));
        Assert.Equal(0, (await ProcessRunner.RunAsync(certutil, ["-N", "-d", db, "--empty-password"], TimeSpan.FromSeconds(30))).ExitCode);
        var imported = await ProcessRunner.RunAsync(pk12util, ["-i", p12, "-d", db, "-W", password], TimeSpan.FromSeconds(30));
        Assert.True(imported.ExitCode == 0, imported.ToString());
        var listed = await ProcessRunner.RunAsync(certutil, ["-L", "-d", db], TimeSpan.FromSeconds(30));
        Assert.Contains("alice-phone", listed.StandardOutput, StringComparison.Ordinal);
        var pem = work.Path("alice-phone.pem");
        var converted = await ProcessRunner.RunAsync(openssl, ["pkcs12", "-in", p12, "-passin", "pass:" + password, "-nodes", "-out", pem], TimeSpan.FromSeconds(30));
        Assert.True(converted.ExitCode == 0, converted.ToString());
        var caFile = work.Path("ca.pem");
        await File.WriteAllTextAsync(caFile, MtlsGate.Tls.Pki.CertificatePem(Pki.Root));
        var curl = await Curl.GetAsync(new Uri(gateway.GatewayUri, "/enrolled").AbsoluteUri, caFile, null, ["--cert", pem]);
        Assert.True(curl.Status == 200, curl.ToString());

        // The page, still open on the enrolment, says so.
        await page.Locator(".enrol-status.done").WaitForAsync();
        Assert.Contains("enrolled", await page.Locator(".enrol-status").InnerTextAsync(), StringComparison.Ordinal);

        // A used link gives nothing more.
        using var reused = await anonymous.GetAsync(link.PathAndQuery);
        Assert.Equal(HttpStatusCode.NotFound, reused.StatusCode);
    }

    [GeneratedRegex("^https://localhost:[0-9]+/\\.mtlsgate/enroll/[A-Za-z0-9_-]{22}$")]
    private static partial Regex TokenLink();

    private sealed class TempFolder : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-admin-").FullName;

        public string Path(string name) => System.IO.Path.Combine(_folder, name);

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }
}
