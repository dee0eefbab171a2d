using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

public sealed class AccessLogTests
{
    [Fact]
    public async Task EveryRequest_WritesOneAccessEvent_WithRouteDecisionReasonSubjectFingerprintAndStatus_ButNoQueryString()
    {
        var capture = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(
            config => config["Serilog"] = new System.Text.Json.Nodes.JsonObject { ["MinimumLevel"] = new System.Text.Json.Nodes.JsonObject { ["Default"] = "Information" } },
            services => services.AddSingleton<ILoggerProvider>(capture));
        var pki = TestPki.Instance;
        using var good = gateway.Client(pki.Good);
        using var none = gateway.Client(null);

        using var allowed = await good.GetAsync("/vault/sync?access_token=SECRET-TOKEN-123");
        using var denied = await none.GetAsync("/vault/sync?access_token=SECRET-TOKEN-456");
        await Eventually.TrueAsync(() => capture.Events.Count(e => e.Category == "MtlsGate.Access" && e.EventName == "Access") >= 2, TimeSpan.FromSeconds(5), "both access events are logged");

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, denied.StatusCode);
        var access = capture.Events.Where(e => e.Category == "MtlsGate.Access" && e.EventName == "Access").Select(e => e.Message.Replace("\"", "", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, access.Count);
        var fingerprint = pki.Good.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant();
        Assert.Contains(access, m => m.Contains("route=app decision=Allow reason=None", StringComparison.Ordinal)
                                     && m.Contains("CN=good-device", StringComparison.Ordinal)
                                     && m.Contains(fingerprint, StringComparison.Ordinal)
                                     && m.Contains("status=200", StringComparison.Ordinal));
        Assert.Contains(access, m => m.Contains("decision=Deny reason=NoCertificate", StringComparison.Ordinal) && m.Contains("status=404", StringComparison.Ordinal));
        Assert.DoesNotContain(capture.Events, e => e.Message.Contains("SECRET-TOKEN", StringComparison.Ordinal));
        Assert.DoesNotContain(capture.Events, e => e.Message.Contains("PRIVATE KEY", StringComparison.Ordinal) || e.Message.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASerilogWriteToSectionInTheConfiguration_ReplacesTheDefaultOutput_WithTheSinksItNames()
    {
        // The shipped sinks are named to Serilog's configuration reader rather than discovered at start-up.
        var folder = Directory.CreateTempSubdirectory("mtlsgate-log-").FullName;
        var file = Path.Combine(folder, "access.log");
        try
        {
            await using (var gateway = await TestGateway.StartAsync(config => config["Serilog"] = new System.Text.Json.Nodes.JsonObject
            {
                ["MinimumLevel"] = new System.Text.Json.Nodes.JsonObject { ["Default"] = "Information" },
                ["WriteTo"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
                {
                    ["Name"] = "File",
                    ["Args"] = new System.Text.Json.Nodes.JsonObject { ["path"] = file },
                }),
            }))
            {
                using var good = gateway.Client(TestPki.Instance.Good);
                using var response = await good.GetAsync("/to-a-file");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            var text = await reader.ReadToEndAsync();
            Assert.Contains("GET /to-a-file route=app decision=Allow", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task PathWithEncodedCrLf_CannotForgeALogLine()
    {
        var capture = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(
            config => config["Serilog"] = new System.Text.Json.Nodes.JsonObject { ["MinimumLevel"] = new System.Text.Json.Nodes.JsonObject { ["Default"] = "Information" } },
            services => services.AddSingleton<ILoggerProvider>(capture));
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.GetAsync("/a%0D%0A[00:00:00 INF] forged%0Aline");
        await Eventually.TrueAsync(() => capture.Events.Any(e => e.Category == "MtlsGate.Access" && e.EventName == "Access"), TimeSpan.FromSeconds(5), "the access event is logged");

        var access = Assert.Single(capture.Events, e => e.Category == "MtlsGate.Access" && e.EventName == "Access").Message;
        Assert.DoesNotContain('\r', access);
        Assert.DoesNotContain('\n', access);
        Assert.Contains("%0D%0A", access, StringComparison.Ordinal);
    }
}
