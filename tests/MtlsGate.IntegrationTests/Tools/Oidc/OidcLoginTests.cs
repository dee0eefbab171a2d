using System.Net;
using System.Net.Http;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Tools.Oidc;

/// <summary>
/// The OpenID Connect login for real: npm oidc-provider (its own login form) and headless Chromium
/// (Microsoft.Playwright driving /usr/bin/chromium; no browser download) against the in-process
/// gateway in front of the Vaultwarden-like destination. Screenshots go to TestResults/oidc-login.
/// </summary>
public sealed class OidcLoginTests
{
    private const string Chromium = "/usr/bin/chromium";

    private sealed record Setup(OidcProvider Provider, TestGateway Gateway, IPlaywright Playwright, IBrowser Browser) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Browser.DisposeAsync();
            Playwright.Dispose();
            await Gateway.DisposeAsync();
            await Provider.DisposeAsync();
        }
    }

    private static async Task<Setup> StartAsync()
    {
        Tool.Require("chromium");
        var gatewayPort = OidcProvider.FreePort();
        var provider = await OidcProvider.StartAsync(gatewayPort);
        TestGateway? gateway = null;
        try
        {
            gateway = await TestGateway.StartAsync(config =>
            {
                var gate = config["MtlsGate"]!.AsObject();
                gate["Listen"]!["Gateway"] = $"https://127.0.0.1:{gatewayPort}";
                gate["Login"] = new JsonObject
                {
                    ["Oidc"] = new JsonObject
                    {
                        ["Authority"] = provider.Issuer.ToString(),
                        ["ClientId"] = OidcProvider.ClientId,
                        ["ClientSecret"] = OidcProvider.ClientSecret,
                    },
                    ["Allow"] = new JsonObject { ["Emails"] = new JsonArray("alice@example.test"), ["Groups"] = new JsonArray("vault-users") },
                    ["BitwardenApps"] = true,
                };
                gate["Policies"] = new JsonObject
                {
                    ["Default"] = new JsonObject { ["Require"] = "CertificateOrLogin" },
                    ["Public"] = new JsonObject { ["Require"] = "None" },
                };
                var routes = config["ReverseProxy"]!["Routes"]!.AsObject();
                routes["vw-config"] = new JsonObject
                {
                    ["ClusterId"] = "app",
                    ["Match"] = new JsonObject { ["Path"] = "/api/config", ["Methods"] = new JsonArray("GET") },
                    ["Metadata"] = new JsonObject { ["MtlsGate.Policy"] = "Public" },
                };
            });
            var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
                Timeout = 60_000,
            });
            return new Setup(provider, gateway, playwright, browser);
        }
        catch
        {
            if (gateway is not null)
            {
                await gateway.DisposeAsync();
            }

            await provider.DisposeAsync();
            throw;
        }
    }

    private static async Task<IPage> NewPageAsync(Setup setup, ClientCertificate? certificate = null)
    {
        var context = await setup.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            IgnoreHTTPSErrors = true,   // the gateway's test server certificate (TestPki), not a public one
            ClientCertificates = certificate is null ? null : [certificate],
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return page;
    }

    /// <summary>oidc-provider's devInteractions: a login form (any name and password), then a consent page.</summary>
    private static async Task LogInAtProviderAsync(IPage page, string name, string? screenshot = null)
    {
        await page.WaitForSelectorAsync("input[name=login]");
        await page.FillAsync("input[name=login]", name);
        await page.FillAsync("input[name=password]", "any password");
        if (screenshot is not null)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Tool.ArtifactFolder("oidc-login"), screenshot) });
        }

        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("button[type=submit]:has-text('Continue')");
        await page.ClickAsync("button[type=submit]:has-text('Continue')");
    }

    [SkippableFact]
    public async Task Chromium_logs_in_through_the_provider_s_form_and_reaches_the_backend_which_never_sees_the_session_cookie()
    {
        await using var setup = await StartAsync();
        var page = await NewPageAsync(setup);
        var start = new Uri(setup.Gateway.GatewayUri, "/vault/page?x=1");

        await page.GotoAsync(start.ToString());
        Assert.StartsWith(setup.Provider.Issuer.ToString().TrimEnd('/') + "/interaction/", page.Url, StringComparison.Ordinal);
        await LogInAtProviderAsync(page, "alice", "1-provider-login.png");
        await page.WaitForURLAsync(start.ToString());
        Assert.Equal("backend ok", await page.InnerTextAsync("body"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Tool.ArtifactFolder("oidc-login"), "2-behind-the-gateway.png") });

        var seen = setup.Gateway.Backend.Requests.Last(r => r.Path == "/vault/page");
        Assert.Equal("alice@example.test", seen.Header("X-MtlsGate-User-Email"));
        Assert.Equal("alice", seen.Header("X-MtlsGate-User-Subject"));
        Assert.Equal("oidc", seen.Header("X-MtlsGate-Login"));
        Assert.Equal("NONE", seen.Header("X-Client-Cert-Verify"));
        Assert.DoesNotContain("mtlsgate_session", seen.Header("Cookie") ?? "", StringComparison.Ordinal);
        var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "mtlsgate_session");
        Assert.True(cookie.Secure && cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);
    }

    [SkippableFact]
    public async Task A_person_in_an_allowed_group_gets_in_and_one_on_no_list_gets_a_plain_404_page()
    {
        await using var setup = await StartAsync();
        var page = await NewPageAsync(setup);
        await page.GotoAsync(new Uri(setup.Gateway.GatewayUri, "/a").ToString());
        await LogInAtProviderAsync(page, "group-bob");
        await page.WaitForURLAsync(new Uri(setup.Gateway.GatewayUri, "/a").ToString());
        Assert.Equal("group-bob", setup.Gateway.Backend.Requests.Last().Header("X-MtlsGate-User-Subject"));

        var refused = await NewPageAsync(setup);
        var callback = refused.WaitForResponseAsync(r => r.Url.Contains("/.mtlsgate/oidc/callback", StringComparison.Ordinal));
        await refused.GotoAsync(new Uri(setup.Gateway.GatewayUri, "/b").ToString());
        await LogInAtProviderAsync(refused, "mallory");
        var response = await callback;
        Assert.Equal(404, response.Status);
        Assert.Contains("may not use this gateway", await refused.InnerTextAsync("body"), StringComparison.Ordinal);
        Assert.DoesNotContain(setup.Gateway.Backend.Requests, r => r.Path == "/b");
    }

    /// <summary>
    /// The Bitwarden app flow with the real browser and provider. App side, as Android's CookieInterceptor:
    /// /api/config (never carries the cookie, never triggers) shows the bootstrap; an API request answered
    /// with exactly 302 starts acquisition; the system browser opens HOST/proxy-cookie-redirect-connector.html;
    /// the flow ends at bitwarden://sso-cookie-vendor?… (captured from the vendor's 302, the browser cannot
    /// load it); every query parameter but d is a cookie; they go back as one "Cookie: name=value; …" header.
    /// </summary>
    [SkippableFact]
    public async Task The_Bitwarden_app_flow_through_Chromium_ends_at_a_bitwarden_link_and_the_app_then_gets_the_backend_s_200()
    {
        await using var setup = await StartAsync();
        using var app = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, SslOptions = TestGateway.ClientTls(null) })
        {
            BaseAddress = setup.Gateway.GatewayUri,
        };

        var config = JsonNode.Parse(await app.GetStringAsync("/api/config"))!;
        Assert.Equal("ssoCookieVendor", config["communication"]!["bootstrap"]!["type"]!.GetValue<string>());
        var sync = await app.GetAsync("/api/sync");
        Assert.Equal(HttpStatusCode.Found, sync.StatusCode);

        var page = await NewPageAsync(setup);
        var vendor = page.WaitForResponseAsync(r => r.Url.EndsWith("/api/sso-cookie-vendor", StringComparison.Ordinal), new PageWaitForResponseOptions { Timeout = 60_000 });
        await page.GotoAsync(new Uri(setup.Gateway.GatewayUri, "/proxy-cookie-redirect-connector.html").ToString());
        await LogInAtProviderAsync(page, "alice");
        var response = await vendor;
        Assert.Equal(302, response.Status);
        var location = response.Headers["location"];
        Assert.StartsWith("bitwarden://sso-cookie-vendor?mtlsgate_session=", location, StringComparison.Ordinal);
        Assert.EndsWith("&d=1", location, StringComparison.Ordinal);

        var cookies = new Uri(location).Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).Where(p => p[0] != "d")
            .Select(p => $"{p[0]}={Uri.UnescapeDataString(p[1])}");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sync");
        request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", cookies));
        var again = await app.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("alice@example.test", setup.Gateway.Backend.Requests.Last().Header("X-MtlsGate-User-Email"));
    }

    [SkippableFact]
    public async Task With_a_certificate_in_the_browser_the_connector_page_hands_the_app_a_session_without_the_provider()
    {
        await using var setup = await StartAsync();
        var folder = Directory.CreateTempSubdirectory("mtlsgate-oidc-cert-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "client.pem"), MtlsGate.Tls.Pki.CertificatePem(TestPki.Instance.Good));
            File.WriteAllText(Path.Combine(folder, "client.key"), MtlsGate.Tls.Pki.KeyPem(TestPki.Instance.Good));
            var page = await NewPageAsync(setup, new ClientCertificate
            {
                Origin = setup.Gateway.GatewayUri.GetLeftPart(UriPartial.Authority),
                CertPath = Path.Combine(folder, "client.pem"),
                KeyPath = Path.Combine(folder, "client.key"),
            });
            var providerRequests = 0;
            page.Request += (_, r) => providerRequests += r.Url.StartsWith(setup.Provider.Issuer.ToString(), StringComparison.Ordinal) ? 1 : 0;
            var vendor = page.WaitForResponseAsync(r => r.Url.EndsWith("/api/sso-cookie-vendor", StringComparison.Ordinal));

            try
            {
                await page.GotoAsync(new Uri(setup.Gateway.GatewayUri, "/proxy-cookie-redirect-connector.html").ToString());
            }
            catch (PlaywrightException)
            {
                // The navigation ends at bitwarden://, which the browser cannot load.
            }

            var response = await vendor;
            Assert.Equal(302, response.Status);
            Assert.StartsWith("bitwarden://sso-cookie-vendor?mtlsgate_session=", response.Headers["location"], StringComparison.Ordinal);
            Assert.Equal(0, providerRequests);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
