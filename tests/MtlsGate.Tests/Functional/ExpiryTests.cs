using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Hosting;
using MtlsGate.Management;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>Expiry warnings and the days-left header, with an injected clock where time matters.</summary>
public sealed class ExpiryTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void CheckTrustMaterial_WithAClockNearTheServerCertificatesEnd_WarnsOncePerThreshold()
    {
        var folder = Directory.CreateTempSubdirectory("mtlsgate-expiry-").FullName;
        var pki = TestPki.Instance;
        File.WriteAllText(Path.Combine(folder, "ca.pem"), pki.CaBundlePem);
        File.WriteAllText(Path.Combine(folder, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.ServerLeaf));
        File.WriteAllText(Path.Combine(folder, "server.key"), MtlsGate.Tls.Pki.KeyPem(pki.ServerLeaf));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MtlsGate:Listen:Gateway"] = "https://127.0.0.1:0",
            ["MtlsGate:Listen:Management"] = "http://127.0.0.1:0",
            ["MtlsGate:ServerCertificate:Path"] = "server.pem",
            ["MtlsGate:ServerCertificate:KeyPath"] = "server.key",
            ["MtlsGate:TrustStores:Default:CaBundle"] = "ca.pem",
            ["MtlsGate:StateDirectory"] = "state",
        }).Build();
        var (snapshot, errors) = ConfigCompiler.Compile(configuration, folder);
        Assert.Empty(errors);
        var capture = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(capture));
        var fiveDaysBefore = new DateTimeOffset(pki.ServerLeaf.NotAfter.ToUniversalTime(), TimeSpan.Zero).AddDays(-5);
        var monitor = new ExpiryMonitor(new GatewayState(snapshot!), new FixedTime(fiveDaysBefore), loggers.CreateLogger<ExpiryMonitor>());

        monitor.CheckTrustMaterial();
        monitor.CheckTrustMaterial();

        var warning = Assert.Single(capture.Events, e => e.EventName == "CertificateExpiring");
        Assert.Contains("Server CN=localhost", warning.Message, StringComparison.Ordinal);
        Assert.Contains("5 day(s) left", warning.Message, StringComparison.Ordinal);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task ClientCertificateExpiringSoon_IsWarnedAbout_CountedInMetrics_AndItsDaysLeftSentToTheBackend()
    {
        var capture = new CapturingLoggerProvider();
        var soon = MtlsGate.Tls.Pki.Issue(TestPki.Instance.Root, "CN=expiring-phone", new MtlsGate.Tls.IssueOptions { NotAfter = DateTimeOffset.UtcNow.AddDays(10) });
        await using var gateway = await TestGateway.StartAsync(
            config => config["MtlsGate"]!["Expiry"] = new JsonObject { ["WarnDays"] = new JsonArray(30, 7), ["SendDaysLeftHeader"] = true },
            services => services.AddSingleton<ILoggerProvider>(capture));
        using var client = gateway.Client(soon);

        using var response = await client.GetAsync("/days");
        using var management = new HttpClient { BaseAddress = gateway.ManagementUri };
        var metrics = await management.GetStringAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches("^(9|10)$", Assert.Single(gateway.Backend.Requests).Header("X-Client-Cert-Days-Left"));
        Assert.Contains(capture.Events, e => e.EventName == "CertificateExpiring" && e.Message.Contains("expiring-phone", StringComparison.Ordinal));
        // Gauges are process-wide (other test gateways share this process), so only their presence is asserted here.
        Assert.Matches(@"mtlsgate_client_certificates_expiring\{within_days=""30""\} \d+", metrics);
    }

    [Fact]
    public async Task GlobalLogOnlyMode_ForwardsAndCountsWouldDeny()
    {
        await using var gateway = await TestGateway.StartAsync(config => config["MtlsGate"]!["Mode"] = "LogOnly");
        using var client = gateway.Client(null);

        using var response = await client.GetAsync("/would-deny");
        using var management = new HttpClient { BaseAddress = gateway.ManagementUri };
        var metrics = await management.GetStringAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches(@"mtlsgate_requests\{decision=""WouldDeny"",reason=""NoCertificate"",route=""app""\} [1-9]", metrics);
    }
}
