using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace MtlsGate.Tests.Management;

/// <summary>
/// A management listener on <c>https://</c>: TLS with the gateway's certificate, and only the admin
/// certificates of <c>Management:Admins</c> get past the handshake. Without admins it does not start.
/// </summary>
public sealed class RemoteAdminTests
{
    private static TestPki Pki => TestPki.Instance;

    private static void HttpsManagement(JsonObject config, JsonObject? admins)
    {
        config["MtlsGate"]!["Listen"]!["Management"] = "https://127.0.0.1:0";
        var management = config["MtlsGate"]!["Management"] as JsonObject ?? new JsonObject();
        config["MtlsGate"]!["Management"] = management;
        if (admins is not null)
        {
            management["Admins"] = admins;
        }
    }

    [Fact]
    public async Task An_https_management_listener_without_admins_does_not_start()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestGateway.StartAsync(config => HttpsManagement(config, null)));

        Assert.Contains("MtlsGate:Management:Admins: required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_an_admin_certificate_gets_through_the_handshake_of_an_https_management_listener()
    {
        var admin = Pki.Good.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        await using var gateway = await TestGateway.StartAsync(config => HttpsManagement(config, new JsonObject { ["SubjectCommonNames"] = new JsonArray(admin) }));
        var management = new Uri($"https://localhost:{gateway.ManagementUri.Port}/");
        Assert.Equal("https", gateway.ManagementUri.Scheme);

        using var anonymous = Client(management, null);
        using var stranger = Client(management, Pki.GoodViaIntermediate);
        using var untrusted = Client(management, Pki.OtherRootLeaf);
        using var trusted = Client(management, Pki.Good);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.GetAsync("/admin"));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => stranger.GetAsync("/admin"));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => untrusted.GetAsync("/admin/api/devices"));
        using var page = await trusted.GetAsync("/admin");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using var health = await trusted.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [SkippableFact]
    public async Task A_plain_HTTP_management_listener_on_all_addresses_serves_admin_to_loopback_only()
    {
        var external = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Skip.If(external is null, "this machine has no non-loopback IPv4 address to reach the listener by");
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            config["MtlsGate"]!["Listen"]!["Management"] = "http://0.0.0.0:0";
            config["MtlsGate"]!["Listen"]!["AllowRemoteManagement"] = true;
        });
        var port = gateway.ManagementUri.Port;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

        using var remoteHealth = await http.GetAsync(new Uri($"http://{external}:{port}/healthz"));
        using var remoteAdmin = await http.GetAsync(new Uri($"http://{external}:{port}/admin"));
        using var remoteApi = await http.GetAsync(new Uri($"http://{external}:{port}/admin/api/devices"));
        using var local = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/admin/api/devices"));

        Assert.Equal(HttpStatusCode.OK, remoteHealth.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, remoteAdmin.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, remoteApi.StatusCode);
        Assert.Equal("Not Found", await remoteAdmin.Content.ReadAsStringAsync());
        Assert.NotEqual(HttpStatusCode.NotFound, local.StatusCode);
    }

    private static HttpClient Client(Uri address, X509Certificate2? certificate) =>
        new(new SocketsHttpHandler { SslOptions = TestGateway.ClientTls(certificate) }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(20) };
}
