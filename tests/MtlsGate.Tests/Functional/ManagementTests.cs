using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>/readyz and /metrics content, asserted.</summary>
public sealed class ManagementTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(TestGateway gateway, string path)
    {
        using var client = new HttpClient { BaseAddress = gateway.ManagementUri };
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheRequestsCounter_CountsEveryConcurrentRequestExactlyOnce_ForAnyMeterListener()
    {
        // A route id of its own: other gateways in this test process publish the same meter.
        var route = "count-" + Guid.NewGuid().ToString("N")[..8];
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            var routes = config["ReverseProxy"]!["Routes"]!.AsObject();
            var app = routes["app"]!;
            routes.Remove("app");
            routes[route] = app;
        });
        using var good = gateway.Client(Pki.Good);
        using var none = gateway.Client(null);

        var responses = await Task.WhenAll(
            Enumerable.Range(0, 40).Select(i => good.GetAsync($"/count/{i}"))
                .Concat(Enumerable.Range(0, 7).Select(i => none.GetAsync($"/count/none/{i}"))));
        foreach (var response in responses)
        {
            response.Dispose();
        }

        // Counted after the response is written: allow the last increments a moment (up to 10 s).
        var seen = ObserveRequests(route);
        await Eventually.TrueAsync(
            () => (seen = ObserveRequests(route)).GetValueOrDefault(("Allow", "None")) == 40 && seen.GetValueOrDefault(("Deny", "NoCertificate")) == 7,
            TimeSpan.FromSeconds(10),
            "the counter reaches 40 allowed and 7 denied requests");

        Assert.Equal(40, seen[("Allow", "None")]);
        Assert.Equal(7, seen[("Deny", "NoCertificate")]);
        Assert.Equal(2, seen.Count);
    }

    private static Dictionary<(string Decision, string Reason), long> ObserveRequests(string route)
    {
        var seen = new Dictionary<(string Decision, string Reason), long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "MtlsGate" && instrument.Name == "requests")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? r = null, decision = null, reason = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case "route": r = tag.Value as string; break;
                    case "decision": decision = tag.Value as string; break;
                    case "reason": reason = tag.Value as string; break;
                }
            }

            if (r == route)
            {
                seen[(decision!, reason!)] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public async Task Metrics_CountRequestsByRouteDecisionAndReason_AndExposeExpiryAndBackendHealth_WithBoundedLabels()
    {
        await using var gateway = await TestGateway.StartAsync();
        using (var good = gateway.Client(Pki.Good))
        using (var none = gateway.Client(null))
        {
            await good.GetAsync("/m/a");
            await good.GetAsync("/m/b");
            await none.GetAsync("/m/c");
        }

        var (status, metrics) = await GetAsync(gateway, "/metrics");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Matches(@"mtlsgate_requests\{decision=""Allow"",reason=""None"",route=""app""\} \d+", metrics);
        Assert.Matches(@"mtlsgate_requests\{decision=""Deny"",reason=""NoCertificate"",route=""app""\} \d+", metrics);
        Assert.Matches(@"mtlsgate_tls_connections\{verdict=""None""\} \d+", metrics);
        Assert.Contains("mtlsgate_certificate_expiry_days{kind=\"Server\",subject=\"CN=localhost\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("mtlsgate_certificate_expiry_days{kind=\"CA\",subject=\"CN=MtlsGate Test Root, O=MtlsGate tests\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("mtlsgate_backend_destinations{cluster=\"app\",state=\"available\"} 1", metrics, StringComparison.Ordinal);
        Assert.Matches(@"mtlsgate_reloads\{result=""success""\} \d+", metrics);
        Assert.Contains("kestrel_tls_handshake_duration", metrics, StringComparison.Ordinal);
        // Bounded labels: no fingerprint, no request path as a label value.
        Assert.DoesNotContain(Pki.Good.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant(), metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("/m/a", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_IsReady_WhenTrustMaterialAndBackendsAreFine()
    {
        await using var gateway = await TestGateway.StartAsync();

        var (status, body) = await GetAsync(gateway, "/readyz");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Readyz_WithAStaleCrl_Is503AndNamesTheProblem_WithoutSecrets()
    {
        var folder = Directory.CreateTempSubdirectory("mtlsgate-ready-").FullName;
        var crl = Path.Combine(folder, "ca.crl");
        await File.WriteAllBytesAsync(crl, TestPki.Crl(Pki.Root, [], nextUpdate: DateTimeOffset.UtcNow.AddHours(-1), thisUpdate: DateTimeOffset.UtcNow.AddDays(-1)));
        await using var gateway = await TestGateway.StartAsync(config => config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray(crl));

        var (status, body) = await GetAsync(gateway, "/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("not ready", json.GetProperty("status").GetString());
        var problem = Assert.Single(json.GetProperty("problems").EnumerateArray());
        Assert.Equal("trustStore:Default", problem.GetProperty("check").GetString());
        Assert.Contains("nextUpdate", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_WithEveryDestinationUnhealthyByActiveHealthChecks_Is503()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            config["ReverseProxy"]!["Clusters"]!["app"]!["Destinations"]!["d1"]!["Address"] = "http://127.0.0.1:9/";
            config["ReverseProxy"]!["Clusters"]!["app"]!["HealthCheck"] = new JsonObject
            {
                ["Active"] = new JsonObject { ["Enabled"] = true, ["Interval"] = "00:00:00.500", ["Timeout"] = "00:00:00.500", ["Policy"] = "ConsecutiveFailures", ["Path"] = "/alive" },
            };
            config["ReverseProxy"]!["Clusters"]!["app"]!["Metadata"] = new JsonObject { ["ConsecutiveFailuresHealthPolicy.Threshold"] = "1" };
        });

        (HttpStatusCode Status, string Body) ready = default;
        await Eventually.TrueAsync(async () => (ready = await GetAsync(gateway, "/readyz")).Status != HttpStatusCode.OK, TimeSpan.FromSeconds(15), "/readyz stops answering 200");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.Contains("cluster:app", ready.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_AfterARefusedReload_StaysReady_AndWarns()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastReload);

        Assert.False(await gateway.WaitForReloadAsync(() => File.WriteAllText(Path.Combine(gateway.Folder, "ca.pem"), "garbage")));
        var (status, body) = await GetAsync(gateway, "/readyz");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("reload", JsonDocument.Parse(body).RootElement.GetProperty("warnings")[0].GetProperty("check").GetString(), StringComparison.Ordinal);
    }
}
