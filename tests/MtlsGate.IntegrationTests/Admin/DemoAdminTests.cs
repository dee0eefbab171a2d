using System.Text.RegularExpressions;
using MtlsGate.Tests.BlackBox;

namespace MtlsGate.Tests.Admin;

/// <summary>
/// The README's newcomer flow, on the published binary: run <c>demo</c>, open the admin URL it prints,
/// run the printed curl command and see the demo client appear, block it in the page, and the same curl
/// command is refused.
/// </summary>
[Collection(BlackBoxTests.Name)]
public sealed partial class DemoAdminTests(PublishedGatewayFixture fixture)
{
    [SkippableFact]
    public async Task A_newcomer_sees_the_demo_client_appear_blocks_it_and_the_next_curl_is_refused()
    {
        var curl = Tool.Require("curl");
        await using var demo = await DemoProcess.StartAsync(fixture.Executable, TimeSpan.FromSeconds(60));
        var command = CurlWithCertificate().Match(demo.Output);
        var adminUrl = AdminUrl().Match(demo.Output);
        Assert.True(command.Success && adminUrl.Success, demo.Output);
        var arguments = command.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        await using var browser = await AdminBrowser.StartAsync();
        var page = browser.Page;
        await page.GotoAsync(adminUrl.Groups[1].Value);

        var first = await ProcessRunner.RunAsync(curl, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", .. arguments], TimeSpan.FromSeconds(30));
        Assert.Equal("200", first.StandardOutput);

        // The list refreshes itself: the demo client appears without touching the page.
        var row = page.Locator("tr", new() { HasText = "demo-phone" });
        await row.WaitForAsync();
        await row.Locator("a").First.ClickAsync();
        await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Block" }).ClickAsync();
        await page.Locator("p.note").WaitForAsync();

        var second = await ProcessRunner.RunAsync(curl, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", .. arguments], TimeSpan.FromSeconds(30));
        Assert.Equal("404", second.StandardOutput);
        Assert.Contains("status-blocked", await page.ContentAsync(), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^\s*curl (--cacert \S+ --cert \S+ --key \S+ https://\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex CurlWithCertificate();

    [GeneratedRegex(@"^\s*(http://\S+/admin)\s*$", RegexOptions.Multiline)]
    private static partial Regex AdminUrl();
}
