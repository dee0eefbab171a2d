using System.Globalization;
using System.Net.Http;
using System.Text.Json.Nodes;

namespace MtlsGate.Tests.BlackBox;

/// <summary>The published binary reloading its configuration file: a refused configuration reaches no backend (security case 23).</summary>
[Collection(BlackBoxTests.Name)]
public sealed class ReloadBlackBoxTests(PublishedGatewayFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static void FastReload(JsonObject config) =>
        config.Gate()["Reload"] = new JsonObject { ["PollInterval"] = "00:00:00.100" };

    /// <summary>Route <c>b</c> to backend B under <c>/b/…</c>: more specific than A's catch-all, so it wins once in force.</summary>
    private static void AddRouteToB(JsonObject config, Uri backendB)
    {
        config["ReverseProxy"]!["Routes"]!["b"] = new JsonObject
        {
            ["ClusterId"] = "b",
            ["Match"] = new JsonObject { ["Path"] = "/b/{**rest}" },
            ["Metadata"] = new JsonObject { ["MtlsGate.Policy"] = "Default" },
        };
        config["ReverseProxy"]!["Clusters"]!["b"] = new JsonObject
        {
            ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = backendB.ToString() } },
        };
    }

    /// <summary>Polls <c>/readyz</c> until the last reload is (or is no longer) reported refused.</summary>
    private static async Task WaitForRefusedReloadAsync(GatewayProcess gateway, bool refused)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var url = new Uri($"http://127.0.0.1:{gateway.ManagementPort.ToString(CultureInfo.InvariantCulture)}/readyz");
        await Eventually.TrueAsync(
            async () =>
            {
                using var response = await http.GetAsync(url);
                var warnings = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["warnings"]!.AsArray();
                return warnings.Any(w => (string?)w!["check"] == "reload") == refused;
            },
            Timeout,
            () => $"/readyz did not report the reload as {(refused ? "refused" : "applied")}.\n{gateway.Describe()}");
    }

    /// <summary>Replaces gateway.json whole (rename), so the gateway never reads it half written.</summary>
    private static void Replace(Sandbox sandbox, JsonObject config) =>
        File.Move(sandbox.WriteConfig(config, "gateway.json.tmp"), Path.Combine(sandbox.Directory, "gateway.json"), overwrite: true);

    [SkippableFact]
    public async Task RefusedReload_AddingARouteToASecondBackend_SendsItNothing_AndTheFixedFileRoutesToIt()
    {
        await using var backendB = await RecordingBackend.StartAsync();
        await using var env = await GatewayEnvironment.StartAsync(fixture, (_, _, config) => FastReload(config));
        var config = GatewayConfig.Default(env.Backend.Address);
        FastReload(config);
        AddRouteToB(config, backendB.Address);
        // Refused: a denial status that makes Bitwarden clients wipe their vault (needs an explicit opt-in).
        config.Gate()["Policies"]!["Default"]!["Deny"]!["Status"] = 401;
        Replace(env.Sandbox, config);
        await WaitForRefusedReloadAsync(env.Gateway, refused: true);

        var refused = await Curl.GetAsync(env.Gateway.GatewayUrl + "/b/while-refused", env.Sandbox.CaPem, env.Sandbox.Client);

        Assert.True(refused.ExitCode == 0, refused.ToString());
        Assert.Empty(backendB.Requests);
        Assert.Single(env.Backend.RequestsFor("/b/while-refused"));

        config.Gate()["Policies"]!["Default"]!["Deny"]!["Status"] = 404;
        Replace(env.Sandbox, config);
        await WaitForRefusedReloadAsync(env.Gateway, refused: false);

        var applied = await Curl.GetAsync(env.Gateway.GatewayUrl + "/b/after-fix", env.Sandbox.CaPem, env.Sandbox.Client);

        Assert.Equal(200, applied.Status);
        Assert.Single(backendB.RequestsFor("/b/after-fix"));
        Assert.Empty(env.Backend.RequestsFor("/b/after-fix"));
    }
}
