using System.Net;
using System.Net.Http;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Login;
using MtlsGate.Policy;

namespace MtlsGate.Tests.Login;

/// <summary>
/// Certificate OR login through the real gateway (real TLS on loopback) with the README's Vaultwarden
/// routes block, the Bitwarden apps' cookie flow replayed as their clients behave, and the attacks on
/// it. Sessions here start from a certificate in the browser (no identity provider); the OpenID
/// Connect login with a real provider and Chromium is in the integration tests (Tools/OidcLoginTests).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BitwardenFlowTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    /// <summary>The app's cookie acquisition, with a certificate in the browser standing in for the login: connector → vendor → deep link.</summary>
    private static async Task<IReadOnlyList<KeyValuePair<string, string>>> AcquireWithBrowserCertificateAsync(TestGateway gateway)
    {
        var jar = new CookieContainer();
        using var browser = LoginGateway.Browser(gateway, Pki.Good, jar);
        var connector = await browser.GetAsync("/proxy-cookie-redirect-connector.html");
        Assert.Equal(HttpStatusCode.Found, connector.StatusCode);
        Assert.Equal("/api/sso-cookie-vendor", connector.Headers.Location!.OriginalString);
        var vendor = await browser.GetAsync("/api/sso-cookie-vendor");
        Assert.Equal(HttpStatusCode.Found, vendor.StatusCode);
        return LoginGateway.ParseDeepLink(vendor.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Api_config_is_public_and_carries_the_bootstrap_while_the_backend_s_environment_vault_stays()
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var app = LoginGateway.App(gateway);

        var response = await app.GetAsync("/api/config");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var bootstrap = json["communication"]!["bootstrap"]!;
        Assert.Equal("ssoCookieVendor", bootstrap["type"]!.GetValue<string>());
        Assert.Equal($"https://localhost:{gateway.GatewayUri.Port}/.mtlsgate/login", bootstrap["idpLoginUrl"]!.GetValue<string>());
        Assert.Equal(LoginGateway.CookieName, bootstrap["cookieName"]!.GetValue<string>());
        Assert.Equal("localhost", bootstrap["cookieDomain"]!.GetValue<string>());
        Assert.Equal($"https://localhost:{gateway.GatewayUri.Port}", json["environment"]!["vault"]!.GetValue<string>());
        Assert.Equal("config", json["object"]!.GetValue<string>());
        Assert.Null(gateway.Backend.Requests.Last().Header("Accept-Encoding"));
    }

    /// <summary>
    /// The Android client's CookieInterceptor, replayed: (1) /api/config is sent without the cookie and never
    /// triggers acquisition (paths ending in /config or /sso-cookie-vendor are excluded); (2) any other
    /// request answered with exactly 302 starts acquisition (Location ignored); (3) the system browser opens
    /// https://HOST/proxy-cookie-redirect-connector.html; (4) the bitwarden://sso-cookie-vendor link's query
    /// parameters except d are the cookies; (5) they go as one Cookie header "name=value; …" on every later request.
    /// </summary>
    [Fact]
    public async Task The_Android_cookie_flow_gets_the_app_from_a_302_to_the_backend_s_200_without_the_cookie_reaching_the_backend()
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var app = LoginGateway.App(gateway);

        var config = await app.GetAsync("/api/config");
        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        var sync = await app.GetAsync("/api/sync");
        Assert.Equal(HttpStatusCode.Found, sync.StatusCode);
        Assert.Equal("/proxy-cookie-redirect-connector.html", sync.Headers.Location!.OriginalString);

        var cookies = await AcquireWithBrowserCertificateAsync(gateway);
        Assert.Equal(LoginGateway.CookieName, Assert.Single(cookies).Key);

        using var request = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", cookies.Append(new("other", "kept")));
        request.Headers.TryAddWithoutValidation("X-MtlsGate-User-Subject", "CN=admin");
        var again = await app.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("backend ok", await again.Content.ReadAsStringAsync());
        var seen = gateway.Backend.Requests.Last();
        Assert.Equal("/api/sync", seen.Path);
        Assert.Equal("other=kept", seen.Header("Cookie"));
        Assert.Equal("NONE", seen.Header("X-Client-Cert-Verify"));
        Assert.Equal(Pki.Good.Subject, seen.Header("X-MtlsGate-User-Subject"));
        Assert.Equal("certificate", seen.Header("X-MtlsGate-Login"));
        Assert.DoesNotContain(gateway.Backend.Requests, r => (r.Header("Cookie") ?? "").Contains(LoginGateway.CookieName, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_session_cookie_is_stripped_also_on_a_route_that_turned_header_copying_off()
    {
        await using var gateway = await LoginGateway.StartAsync(configure: config =>
            config["ReverseProxy"]!["Routes"]!["vw"]!["Transforms"] = new JsonArray(new JsonObject { ["RequestHeadersCopy"] = "false" }, new JsonObject { ["RequestHeader"] = "Cookie", ["Append"] = "added=1" }));
        var cookies = await AcquireWithBrowserCertificateAsync(gateway);
        using var app = LoginGateway.App(gateway);

        using var request = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", cookies.Append(new("other", "kept")));
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(request)).StatusCode);

        Assert.DoesNotContain(LoginGateway.CookieName, gateway.Backend.Requests.Last().Header("Cookie") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_phone_whose_certificate_expired_gets_302_not_404_and_recovers_by_login()
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var phone = LoginGateway.App(gateway, Pki.Expired);

        var refused = await phone.GetAsync("/api/sync");
        Assert.Equal(HttpStatusCode.Found, refused.StatusCode);

        var cookies = await AcquireWithBrowserCertificateAsync(gateway);
        using var request = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", cookies);
        var recovered = await phone.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal("FAILED", gateway.Backend.Requests.Last().Header("X-Client-Cert-Verify"));
    }

    [Fact]
    public async Task A_valid_certificate_still_passes_alone_and_an_iOS_leaf_only_certificate_chains_through_the_store_s_intermediate()
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var phone = LoginGateway.App(gateway, Pki.Good);
        using var iPhone = LoginGateway.App(gateway, Pki.GoodViaIntermediate);   // the leaf alone, as iOS sends it

        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync("/api/sync")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await iPhone.GetAsync("/api/sync")).StatusCode);
        Assert.Equal("SUCCESS", gateway.Backend.Requests.Last().Header("X-Client-Cert-Verify"));
    }

    [Fact]
    public async Task A_browser_navigation_without_either_goes_to_the_login_with_its_local_path_and_other_requests_to_the_connector()
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var browser = LoginGateway.Browser(gateway, null, new CookieContainer());

        var page = await browser.GetAsync("/webauthn-mobile-connector.html?data=x");
        Assert.Equal(HttpStatusCode.Found, page.StatusCode);
        Assert.Equal("/.mtlsgate/login?returnUrl=%2Fwebauthn-mobile-connector.html%3Fdata%3Dx", page.Headers.Location!.OriginalString);

        using var app = LoginGateway.App(gateway);
        var post = await app.PostAsync("/identity/connect/token", new StringContent("grant_type=refresh_token"));
        Assert.Equal(HttpStatusCode.Found, post.StatusCode);
        Assert.Equal("/proxy-cookie-redirect-connector.html", post.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Without_BitwardenApps_an_api_request_keeps_the_configured_404_and_the_vendor_is_the_backend_s()
    {
        await using var gateway = await LoginGateway.StartAsync(new JsonObject { ["SessionLifetime"] = "01:00:00" });
        using var app = LoginGateway.App(gateway);

        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync("/api/sync")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync("/api/sso-cookie-vendor")).StatusCode);
        var config = JsonNode.Parse(await (await app.GetAsync("/api/config")).Content.ReadAsStringAsync())!;
        Assert.Null(config["communication"]);
    }

    [Fact]
    public async Task The_connector_page_with_a_certificate_in_the_browser_starts_a_session_without_an_identity_provider()
    {
        await using var gateway = await LoginGateway.StartAsync();
        var jar = new CookieContainer();
        using var browser = LoginGateway.Browser(gateway, Pki.Good, jar);

        var connector = await browser.GetAsync("/proxy-cookie-redirect-connector.html");

        Assert.Equal(HttpStatusCode.Found, connector.StatusCode);
        var setCookie = Assert.Single(connector.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith(LoginGateway.CookieName + "=", setCookie, StringComparison.Ordinal);
        Assert.Contains("; Path=/; Secure; HttpOnly; SameSite=Lax", setCookie, StringComparison.Ordinal);
        Assert.DoesNotContain("Domain", setCookie, StringComparison.OrdinalIgnoreCase);
        var value = setCookie.Split(';')[0][(LoginGateway.CookieName.Length + 1)..];
        Assert.Matches("^[A-Za-z0-9_-]+$", value);
    }

    [Fact]
    public async Task The_vendor_without_a_session_answers_the_404_page_telling_the_person_to_return_to_the_app()
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var browser = LoginGateway.Browser(gateway, null, new CookieContainer());

        var vendor = await browser.GetAsync("/api/sso-cookie-vendor");

        Assert.Equal(HttpStatusCode.NotFound, vendor.StatusCode);
        Assert.Equal("text/html", vendor.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Please return to the Bitwarden app", await vendor.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_vendor_never_answers_for_a_cookie_that_is_not_a_valid_session()
    {
        await using var gateway = await LoginGateway.StartAsync();
        var cookies = await AcquireWithBrowserCertificateAsync(gateway);
        var value = cookies[0].Value;
        using var app = LoginGateway.App(gateway);

        foreach (var fake in new[] { "anything", value[..^8], value[..20] + (value[20] == 'A' ? 'B' : 'A') + value[21..] })
        {
            using var request = LoginGateway.WithCookies(HttpMethod.Get, "/api/sso-cookie-vendor", [new(LoginGateway.CookieName, fake)]);
            var vendor = await app.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, vendor.StatusCode);
        }
    }

    [Fact]
    public async Task Forged_and_truncated_cookies_are_refused_like_no_cookie()
    {
        await using var gateway = await LoginGateway.StartAsync();
        var value = (await AcquireWithBrowserCertificateAsync(gateway))[0].Value;
        using var app = LoginGateway.App(gateway);
        var before = gateway.Backend.Requests.Count;

        foreach (var fake in new[] { value[..^1], value[..(value.Length / 2)], "A" + value[1..], value + "A", "%00" })
        {
            using var request = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", [new(LoginGateway.CookieName, fake)]);
            Assert.Equal(HttpStatusCode.Found, (await app.SendAsync(request)).StatusCode);
        }

        Assert.Equal(before, gateway.Backend.Requests.Count);
    }

    [Fact]
    public async Task A_cookie_replayed_after_logout_is_refused_and_the_revocation_is_kept_in_a_private_file()
    {
        await using var gateway = await LoginGateway.StartAsync();
        var cookies = await AcquireWithBrowserCertificateAsync(gateway);
        using var app = LoginGateway.App(gateway);
        using (var ok = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", cookies))
        {
            Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(ok)).StatusCode);
        }

        using (var logout = LoginGateway.WithCookies(HttpMethod.Get, "/.mtlsgate/logout", cookies))
        {
            var response = await app.SendAsync(logout);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(LoginGateway.CookieName + "=;", StringComparison.Ordinal) && c.Contains("Max-Age=0", StringComparison.Ordinal));
        }

        // The same app (same connection: the per-connection cache must not keep it alive), and a fresh one.
        using var replay = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", cookies);
        Assert.Equal(HttpStatusCode.Found, (await app.SendAsync(replay)).StatusCode);
        using var other = LoginGateway.App(gateway);
        using var replay2 = LoginGateway.WithCookies(HttpMethod.Get, "/api/sso-cookie-vendor", cookies);
        Assert.Equal(HttpStatusCode.NotFound, (await other.SendAsync(replay2)).StatusCode);

        var file = Path.Combine(gateway.State.Current.StateDirectory, "login-revoked.json");
        Assert.True(File.Exists(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(gateway.State.Current.StateDirectory, "login-keys")));
    }

    [Fact]
    public async Task A_large_session_goes_as_shards_that_the_vendor_hands_over_in_order_and_the_app_sends_back()
    {
        await using var gateway = await LoginGateway.StartAsync();
        var (sessions, login) = Sessions(gateway);
        var token = sessions.Start(login, LoginMethod.Certificate, new string('s', 3000), null, [], null);
        var value = sessions.Protect(token, login);
        var shards = SessionCookies.Pairs(LoginGateway.CookieName, value);
        Assert.True(shards.Count >= 2);
        using var app = LoginGateway.App(gateway);

        using var vendorRequest = LoginGateway.WithCookies(HttpMethod.Get, "/api/sso-cookie-vendor", shards);
        var vendor = await app.SendAsync(vendorRequest);
        Assert.Equal(HttpStatusCode.Found, vendor.StatusCode);
        var location = vendor.Headers.Location!.OriginalString;
        Assert.StartsWith($"bitwarden://sso-cookie-vendor?{LoginGateway.CookieName}-0=", location, StringComparison.Ordinal);
        var handed = LoginGateway.ParseDeepLink(location);
        Assert.Equal(shards, handed);

        using var api = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", handed);
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(api)).StatusCode);
        Assert.Null(gateway.Backend.Requests.Last().Header("Cookie"));
    }

    [Fact]
    public async Task A_vendor_link_over_8192_characters_is_refused_with_400()
    {
        await using var gateway = await LoginGateway.StartAsync();
        var (sessions, login) = Sessions(gateway);
        var value = sessions.Protect(sessions.Start(login, LoginMethod.Certificate, new string('s', 7000), null, [], null), login);
        using var app = LoginGateway.App(gateway);

        using var request = LoginGateway.WithCookies(HttpMethod.Get, "/api/sso-cookie-vendor", SessionCookies.Pairs(LoginGateway.CookieName, value));
        var vendor = await app.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, vendor.StatusCode);
        Assert.Contains("Error code 400", await vendor.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example/")]
    [InlineData("javascript:alert(1)")]
    [InlineData("/%0d%0aSet-Cookie:x=y")]
    public async Task An_open_redirect_through_returnUrl_is_refused(string returnUrl)
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var browser = LoginGateway.Browser(gateway, Pki.Good, new CookieContainer());

        var login = await browser.GetAsync("/.mtlsgate/login?returnUrl=" + Uri.EscapeDataString(Uri.UnescapeDataString(returnUrl)));

        Assert.Equal(HttpStatusCode.Found, login.StatusCode);
        Assert.Equal("/", login.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_local_returnUrl_is_followed_after_login()
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var browser = LoginGateway.Browser(gateway, Pki.Good, new CookieContainer());

        var login = await browser.GetAsync("/.mtlsgate/login?returnUrl=%2Fvault%2F%23%2Flogin");

        Assert.Equal("/vault/#/login", login.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task An_unreachable_identity_provider_gives_a_502_page_never_401_or_403()
    {
        using var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();   // nothing listens there any more: connection refused
        await using var gateway = await LoginGateway.StartAsync(new JsonObject
        {
            ["Oidc"] = new JsonObject { ["Authority"] = $"http://127.0.0.1:{port}/", ["ClientId"] = "mtlsgate" },
            ["Allow"] = new JsonObject { ["Emails"] = new JsonArray("me@example.test") },
            ["BitwardenApps"] = true,
        });
        using var browser = LoginGateway.Browser(gateway, null, new CookieContainer());

        var login = await browser.GetAsync("/.mtlsgate/login?returnUrl=%2F");

        Assert.Equal(HttpStatusCode.BadGateway, login.StatusCode);
        Assert.Contains("Login is unavailable", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cookie_value_is_unprotected_once_per_connection()
    {
        await using var gateway = await LoginGateway.StartAsync();
        using var app = LoginGateway.App(gateway);
        var sessions = gateway.Services.GetRequiredService<LoginSessions>();

        // Three requests with the same (forged) value on one connection: one unprotect.
        for (var i = 0; i < 3; i++)
        {
            using var request = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", [new(LoginGateway.CookieName, "forged" + "A")]);
            Assert.Equal(HttpStatusCode.Found, (await app.SendAsync(request)).StatusCode);
        }

        Assert.Equal(1, sessions.Unprotects);
        using var other = LoginGateway.App(gateway);
        using var onAnother = LoginGateway.WithCookies(HttpMethod.Get, "/api/sync", [new(LoginGateway.CookieName, "forgedA")]);
        await other.SendAsync(onAnother);
        Assert.Equal(2, sessions.Unprotects);
    }

    private static (LoginSessions Sessions, MtlsGate.Configuration.LoginSettings Login) Sessions(TestGateway gateway) =>
        (gateway.Services.GetRequiredService<LoginSessions>(), gateway.State.Current.Login!);
}
