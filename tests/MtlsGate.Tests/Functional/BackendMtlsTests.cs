using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>
/// Mutual TLS from the gateway to the backend (<c>MtlsGate:Backends</c>), against a real Kestrel
/// backend on loopback that requires a client certificate from a private CA.
/// </summary>
public sealed class BackendMtlsTests : IDisposable
{
    private readonly BackendPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task A_backend_requiring_a_client_certificate_answers_200_and_sees_the_gateways_certificate_subject()
    {
        await using var backend = await TlsBackend.StartAsync(_pki.Server, _pki.ClientRoot);
        await using var gateway = await TestGateway.StartAsync(config => _pki.Configure(config, backend.Address));
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backend mtls ok", await response.Content.ReadAsStringAsync());
        Assert.Equal(_pki.Client1.Subject, Assert.Single(backend.Subjects));
    }

    [Fact]
    public async Task Without_a_Backends_entry_YARPs_default_client_trusts_only_the_system_store_so_a_private_backend_gets_502()
    {
        // Today's behaviour for a cluster without an entry: YARP's default client verifies the backend
        // against the system store (and the name of the request's Host) and sends no client
        // certificate; a backend with a private CA is refused.
        await using var backend = await TlsBackend.StartAsync(_pki.Server, _pki.ClientRoot);
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            _pki.Configure(config, backend.Address);
            config["MtlsGate"]!.AsObject().Remove("Backends");
        });
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Empty(backend.Subjects);
    }

    [Fact]
    public async Task A_backend_certificate_from_a_CA_the_CaBundle_does_not_hold_gets_502_with_the_reason_in_the_log_only()
    {
        var capture = new CapturingLoggerProvider();
        await using var backend = await TlsBackend.StartAsync(_pki.Server, _pki.ClientRoot);
        await using var gateway = await TestGateway.StartAsync(
            config => _pki.Configure(config, backend.Address, caBundle: "wrong-ca.pem"),
            services => services.AddSingleton<ILoggerProvider>(capture));
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
        Assert.Empty(backend.Subjects);
        var rejected = Assert.Single(capture.Events, e => e.EventName == "BackendCertificateRejected").Message.Replace("\"", "", StringComparison.Ordinal);
        Assert.Contains("cluster app", rejected, StringComparison.Ordinal);
        Assert.Contains("no valid chain to the backend CA bundle", rejected, StringComparison.Ordinal);
        Assert.Contains("CN=backend.test", rejected, StringComparison.Ordinal);
        Assert.DoesNotContain(capture.Events, e => e.Message.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal) || e.Message.Contains("PRIVATE KEY", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_backend_certificate_for_another_name_than_the_destination_host_gets_502_with_a_name_mismatch_in_the_log()
    {
        var capture = new CapturingLoggerProvider();
        await using var backend = await TlsBackend.StartAsync(_pki.ElsewhereServer, _pki.ClientRoot);
        await using var gateway = await TestGateway.StartAsync(
            config => _pki.Configure(config, backend.Address),
            services => services.AddSingleton<ILoggerProvider>(capture));
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Empty(backend.Subjects);
        var rejected = Assert.Single(capture.Events, e => e.EventName == "BackendCertificateRejected");
        Assert.Contains("name mismatch", rejected.Message, StringComparison.Ordinal);
        Assert.Contains("'127.0.0.1'", rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerName_names_the_certificate_of_a_backend_addressed_by_IP_and_the_request_gets_through()
    {
        await using var backend = await TlsBackend.StartAsync(_pki.ElsewhereServer, _pki.ClientRoot);
        await using var gateway = await TestGateway.StartAsync(config => _pki.Configure(config, backend.Address, entry: e => e["ServerName"] = "elsewhere.test"));
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_client_certificate_rotated_on_disk_is_used_by_new_connections_after_the_reload_without_a_restart()
    {
        await using var backend = await TlsBackend.StartAsync(_pki.Server, _pki.ClientRoot);
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            TestGateway.FastReload(config);
            _pki.Configure(config, backend.Address, entry: e => e["ClientCertificate"] = new System.Text.Json.Nodes.JsonObject { ["Path"] = _pki.ClientCombined });
        });
        using var client = gateway.Client(TestPki.Instance.Good);
        using (var before = await client.GetAsync("/before"))
        {
            Assert.Equal(_pki.Client1.Subject, before.Headers.GetValues(TlsBackend.SeenSubjectHeader).Single());
        }

        Assert.True(await gateway.WaitForReloadAsync(() => _pki.RotateClientTo(_pki.Client2)));

        using var after = await client.GetAsync("/after");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(_pki.Client2.Subject, after.Headers.GetValues(TlsBackend.SeenSubjectHeader).Single());
        Assert.Equal([_pki.Client1.Subject, _pki.Client2.Subject], backend.Subjects);
    }

    [Fact]
    public async Task A_reload_that_leaves_the_backend_settings_alone_keeps_the_backend_client()
    {
        var capture = new CapturingLoggerProvider();
        await using var backend = await TlsBackend.StartAsync(_pki.Server, _pki.ClientRoot);
        await using var gateway = await TestGateway.StartAsync(
            config =>
            {
                TestGateway.FastReload(config);
                config["Serilog"] = new System.Text.Json.Nodes.JsonObject { ["MinimumLevel"] = new System.Text.Json.Nodes.JsonObject { ["Default"] = "Information" } };
                _pki.Configure(config, backend.Address);
            },
            services => services.AddSingleton<ILoggerProvider>(capture));
        using var client = gateway.Client(TestPki.Instance.Good);
        using (await client.GetAsync("/one"))
        {
        }

        await gateway.RewriteConfigAsync(config => config["MtlsGate"]!["Expiry"] = new System.Text.Json.Nodes.JsonObject { ["SendDaysLeftHeader"] = true });
        using var response = await client.GetAsync("/two");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(capture.Events, e => e.EventName == "BackendClientCreated");
        Assert.DoesNotContain(capture.Events, e => e.EventName == "BackendClientRetired");
    }

    [Fact]
    public async Task Readyz_warns_when_a_backend_client_certificate_expires_within_30_days()
    {
        var soon = MtlsGate.Tls.Pki.Issue(_pki.ClientRoot, "CN=gateway-client-soon", new MtlsGate.Tls.IssueOptions { NotAfter = DateTimeOffset.UtcNow.AddDays(10) });
        _pki.WritePem("client", soon);
        await using var backend = await TlsBackend.StartAsync(_pki.Server, _pki.ClientRoot);
        await using var gateway = await TestGateway.StartAsync(config => _pki.Configure(config, backend.Address));
        using var management = new System.Net.Http.HttpClient { BaseAddress = gateway.ManagementUri };

        using var response = await management.GetAsync("/readyz");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(body);
        var warning = Assert.Single(json.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("check").GetString() == "backend:app");
        Assert.Contains("days left", warning.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(soon.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant(), warning.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
