using System.Net;
using System.Text.Json.Nodes;
using MtlsGate.Text;

namespace MtlsGate.Tests.Management;

/// <summary>
/// The admin page and its API on the real gateway (real TLS, real SQLite store in the state directory):
/// what it lists, that block reaches a connection already open, and that every state change needs its
/// CSRF proof (the form's token, the API's header, a same-origin request).
/// </summary>
public sealed class AdminPageTests
{
    private static TestPki Pki => TestPki.Instance;

    private static readonly string GoodSha = Fingerprint.Sha256(Pki.Good);

    [Fact]
    public async Task The_device_table_lists_a_device_after_its_first_request_with_its_counts()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var client = gateway.Client(Pki.Good);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/hello")).StatusCode);
        using var admin = new AdminClient(gateway.ManagementUri);

        await Eventually.TrueAsync(async () => (await admin.DeviceAsync(GoodSha))?["allowed"]?.GetValue<long>() == 1, TimeSpan.FromSeconds(15), "the device is in the store");
        var page = await admin.Http.GetStringAsync(new Uri("/admin", UriKind.Relative));
        Assert.Contains(GoodSha, page, StringComparison.Ordinal);
        Assert.Contains(WebEncode(Pki.Good.Subject), page, StringComparison.Ordinal);
        var list = JsonNode.Parse(await admin.Http.GetStringAsync(new Uri("/admin/api/devices", UriKind.Relative)))!.AsArray();
        var device = Assert.Single(list)!.AsObject();
        foreach (var field in new[] { "sha256", "subject", "issuer", "notAfter", "firstSeen", "lastSeen", "lastAddress", "allowed", "denied", "lastDenyReason", "status", "label" })
        {
            Assert.True(device.ContainsKey(field), field);
        }

        Assert.Equal("active", device["status"]!.GetValue<string>());
        Assert.Equal("127.0.0.1", device["lastAddress"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_page_carries_a_strict_content_security_policy_and_is_never_cached_or_framed()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var admin = new AdminClient(gateway.ManagementUri);
        // The store is migrated in the background at start-up: 503 until then.
        await Eventually.TrueAsync(async () => (await admin.Http.GetAsync(new Uri("/admin", UriKind.Relative))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(15), "the store is ready");
        using var response = await admin.Http.GetAsync(new Uri("/admin", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var csp = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blocking_from_the_page_refuses_the_next_request_on_a_connection_already_open()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/before"), StringComparison.Ordinal);
        using var admin = new AdminClient(gateway.ManagementUri);
        await Eventually.TrueAsync(async () => await admin.DeviceAsync(GoodSha) is not null, TimeSpan.FromSeconds(15), "the device is in the store");

        using var blocked = await admin.PostFormAsync($"/admin/devices/{GoodSha}/block", [], await admin.CsrfTokenAsync($"/admin/devices/{GoodSha}"));

        Assert.Equal(HttpStatusCode.SeeOther, blocked.StatusCode);
        var after = await Http1.SendAsync(ssl, "/after");
        Assert.StartsWith("HTTP/1.1 404", after, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after");
        Assert.Equal("blocked", (await admin.DeviceAsync(GoodSha))!["status"]!.GetValue<string>());
        var detail = await admin.Http.GetStringAsync(new Uri($"/admin/devices/{GoodSha}", UriKind.Relative));
        Assert.Contains("status-blocked", detail, StringComparison.Ordinal);
        Assert.Contains("admin@loopback", detail, StringComparison.Ordinal);

        using var unblocked = await admin.PostApiAsync($"/admin/api/devices/{GoodSha}/unblock");
        Assert.Equal(HttpStatusCode.OK, unblocked.StatusCode);
        Assert.StartsWith("HTTP/1.1 200", await Http1.SendAsync(ssl, "/again"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_post_without_the_token_or_from_another_origin_is_refused_and_changes_nothing()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var client = gateway.Client(Pki.Good);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/hello")).StatusCode);
        using var admin = new AdminClient(gateway.ManagementUri);
        await Eventually.TrueAsync(async () => await admin.DeviceAsync(GoodSha) is not null, TimeSpan.FromSeconds(15), "the device is in the store");
        var token = await admin.CsrfTokenAsync($"/admin/devices/{GoodSha}");

        using var noToken = await admin.PostFormAsync($"/admin/devices/{GoodSha}/block", [], token: null);
        using var wrongToken = await admin.PostFormAsync($"/admin/devices/{GoodSha}/block", [], token: "x" + token[1..]);
        using var crossOrigin = await admin.PostFormAsync($"/admin/devices/{GoodSha}/block", [], token, origin: "https://evil.example");
        using var crossSite = new HttpRequestMessage(HttpMethod.Post, new Uri($"/admin/devices/{GoodSha}/block", UriKind.Relative))
        {
            Content = new FormUrlEncodedContent([new("csrf", token)]),
        };
        crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
        using var crossSiteResponse = await admin.Http.SendAsync(crossSite);

        Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, crossOrigin.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, crossSiteResponse.StatusCode);
        Assert.Equal("active", (await admin.DeviceAsync(GoodSha))!["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/still")).StatusCode);
    }

    [Fact]
    public async Task An_API_call_without_X_Requested_With_is_refused_and_changes_nothing()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var client = gateway.Client(Pki.Good);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/hello")).StatusCode);
        using var admin = new AdminClient(gateway.ManagementUri);
        await Eventually.TrueAsync(async () => await admin.DeviceAsync(GoodSha) is not null, TimeSpan.FromSeconds(15), "the device is in the store");

        using var block = await admin.PostApiAsync($"/admin/api/devices/{GoodSha}/block", withHeader: false);
        using var enroll = await admin.PostApiAsync("/admin/api/enrollments", "{\"name\":\"x\"}", withHeader: false);

        Assert.Equal(HttpStatusCode.Forbidden, block.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, enroll.StatusCode);
        Assert.Equal("active", (await admin.DeviceAsync(GoodSha))!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Labels_and_history_show_who_did_what_encoded()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var client = gateway.Client(Pki.Good);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/hello")).StatusCode);
        using var admin = new AdminClient(gateway.ManagementUri);
        await Eventually.TrueAsync(async () => await admin.DeviceAsync(GoodSha) is not null, TimeSpan.FromSeconds(15), "the device is in the store");

        using var labelled = await admin.PostFormAsync($"/admin/devices/{GoodSha}/label", [new("label", "<script>alert(1)</script> phone")], await admin.CsrfTokenAsync($"/admin/devices/{GoodSha}"));

        Assert.Equal(HttpStatusCode.SeeOther, labelled.StatusCode);
        var detail = await admin.Http.GetStringAsync(new Uri($"/admin/devices/{GoodSha}", UriKind.Relative));
        Assert.DoesNotContain("<script>alert(1)", detail, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; phone", detail, StringComparison.Ordinal);
        Assert.Contains("admin@loopback", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enrolment_from_the_API_is_refused_while_no_CA_folder_is_configured()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var admin = new AdminClient(gateway.ManagementUri);

        using var response = await admin.PostApiAsync("/admin/api/enrollments", "{\"name\":\"alice\"}");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("Enrollment:CaFolder", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static string WebEncode(string text) => System.Text.Encodings.Web.HtmlEncoder.Default.Encode(text);
}
