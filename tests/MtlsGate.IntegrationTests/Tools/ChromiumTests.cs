using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Tools;

/// <summary>
/// A real browser, headless Chromium, with its own TLS stack and NSS: with the client certificate
/// it sees the backend's page; without, the gateway's denial. Screenshots are kept under
/// <c>TestResults/screenshots</c> in the test output folder.
/// </summary>
[Collection(OneChromiumAtATime.Name)]
public sealed class ChromiumTests(ITestOutputHelper output)
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [SkippableFact]
    public async Task Headless_Chromium_with_the_client_certificate_in_NSS_shows_the_backend_page()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = await HeadlessChromium.CreateAsync(TestPki.Instance.Root, TestPki.Instance.Good, gateway.GatewayUri);

        var dom = await browser.DumpDomAsync(gateway.GatewayUri);
        output.WriteLine(HeadlessChromium.Describe(dom));
        Assert.Equal(0, dom.ExitCode);
        Assert.False(dom.TimedOut, "chromium --dump-dom timed out (certificate picker?)");
        Assert.Contains("backend ok", dom.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Not Found", dom.StandardOutput, StringComparison.Ordinal);

        var screenshot = await ScreenshotAsync(browser, gateway, "with-client-certificate.png");
        // The backend saw Chromium's certificate (the one from NSS, chosen by the policy).
        var pages = gateway.Backend.Requests.Where(r => r.Path == "/").ToList();
        Assert.Equal(2, pages.Count); // --dump-dom and --screenshot
        Assert.All(pages, page => Assert.Equal("CN=good-device, O=Home", page.Header("X-Client-Cert-Subject")));
        output.WriteLine("screenshot: " + screenshot);
    }

    [SkippableFact]
    public async Task Headless_Chromium_without_a_client_certificate_shows_the_gateway_denial()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = await HeadlessChromium.CreateAsync(TestPki.Instance.Root, null, gateway.GatewayUri);

        var dom = await browser.DumpDomAsync(gateway.GatewayUri);
        output.WriteLine(HeadlessChromium.Describe(dom));
        Assert.Equal(0, dom.ExitCode);
        Assert.False(dom.TimedOut, "chromium --dump-dom timed out");
        Assert.Contains("Not Found", dom.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("backend ok", dom.StandardOutput, StringComparison.Ordinal);

        var screenshot = await ScreenshotAsync(browser, gateway, "without-client-certificate.png");
        output.WriteLine("screenshot: " + screenshot);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/");
    }

    private async Task<string> ScreenshotAsync(HeadlessChromium browser, TestGateway gateway, string name)
    {
        var file = Path.Combine(Tool.ArtifactFolder("screenshots"), name);
        File.Delete(file);
        var result = await browser.ScreenshotAsync(gateway.GatewayUri, file);
        output.WriteLine(HeadlessChromium.Describe(result));
        Assert.False(result.TimedOut, "chromium --screenshot timed out");
        Assert.Equal(0, result.ExitCode);
        Assert.True(File.Exists(file), "no screenshot written");
        var bytes = await File.ReadAllBytesAsync(file);
        Assert.True(bytes.Length > 1000, $"screenshot only {bytes.Length} bytes");
        Assert.Equal(PngSignature, bytes[..8]);
        return file;
    }
}
