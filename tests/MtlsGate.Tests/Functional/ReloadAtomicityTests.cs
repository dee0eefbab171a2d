using System.Net;
using System.Net.Http;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>
/// Reload is all or nothing (security case 23): a refused configuration changes nothing that serves
/// requests, routes and clusters included; a good one applies routes and policies together; the
/// files a refused configuration names stay watched.
/// </summary>
public sealed class ReloadAtomicityTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    /// <summary>Route <c>app</c> serves only <c>/app/…</c>, so a path of another route is observable as a 404.</summary>
    private static void AppUnderItsOwnPath(JsonObject config)
    {
        TestGateway.FastReload(config);
        config["ReverseProxy"]!["Routes"]!["app"]!["Match"] = new JsonObject { ["Path"] = "/app/{**rest}" };
    }

    private static JsonObject Route(string path, string? policy = null)
    {
        var route = new JsonObject { ["ClusterId"] = "app", ["Match"] = new JsonObject { ["Path"] = path } };
        if (policy is not null)
        {
            route["Metadata"] = new JsonObject { ["MtlsGate.Policy"] = policy };
        }

        return route;
    }

    /// <summary>Writes the configuration whole (rename over the old file), so a poll never reads it half written.</summary>
    private static void WriteConfig(TestGateway gateway)
    {
        var temporary = gateway.ConfigFile + ".tmp";
        File.WriteAllText(temporary, gateway.Config.ToJsonString());
        File.Move(temporary, gateway.ConfigFile, overwrite: true);
    }

    private static async Task<HttpStatusCode> GetAsync(TestGateway gateway, string path, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        using var client = gateway.Client(certificate ?? Pki.Good);
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    public static TheoryData<string> RefusedCandidates => new() { "unknown policy on the new route", "invalid denial status elsewhere" };

    [Theory]
    [MemberData(nameof(RefusedCandidates))]
    public async Task RefusedReload_WithANewRoute_LeavesRoutingExactlyAsItWas(string what)
    {
        await using var gateway = await TestGateway.StartAsync(AppUnderItsOwnPath);

        var reloaded = await gateway.WaitForReloadAsync(() =>
        {
            var config = gateway.Config;
            if (what.StartsWith("unknown", StringComparison.Ordinal))
            {
                config["ReverseProxy"]!["Routes"]!["new"] = Route("/new/{**rest}", "NoSuchPolicy");
            }
            else
            {
                config["ReverseProxy"]!["Routes"]!["new"] = Route("/new/{**rest}");
                config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = new JsonObject { ["Deny"] = new JsonObject { ["Status"] = 401 } } };
            }

            WriteConfig(gateway);
        });

        Assert.False(reloaded, what);
        Assert.NotEmpty(gateway.State.LastReloadErrors);
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, "/new/x"));
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path.StartsWith("/new/", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, "/app/x"));
    }

    [Fact]
    public async Task RouteNamingAnUnknownPolicy_IsRefusedAtStartUp_NamingTheKey()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestGateway.StartAsync(config =>
            config["ReverseProxy"]!["Routes"]!["new"] = Route("/new/{**rest}", "NoSuchPolicy")));

        Assert.Contains("ReverseProxy:Routes:new:Metadata:MtlsGate.Policy: unknown policy 'NoSuchPolicy'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RouteNamingAnUnknownPolicy_IsRefusedAtReload_NamingTheKey()
    {
        await using var gateway = await TestGateway.StartAsync(AppUnderItsOwnPath);

        var reloaded = await gateway.WaitForReloadAsync(() =>
        {
            gateway.Config["ReverseProxy"]!["Routes"]!["new"] = Route("/new/{**rest}", "NoSuchPolicy");
            WriteConfig(gateway);
        });

        Assert.False(reloaded);
        Assert.Contains(gateway.State.LastReloadErrors, e => e.StartsWith("ReverseProxy:Routes:new:Metadata:MtlsGate.Policy:", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, "/new/x"));
    }

    [Fact]
    public async Task GoodReload_ChangingARouteAndItsPolicyTogether_AppliesBoth_AndNoRequestEverSeesThemApart()
    {
        await using var gateway = await TestGateway.StartAsync(AppUnderItsOwnPath);
        using var stop = new CancellationTokenSource();

        // Good hammers the new path throughout: until the reload it is unrouted (404), after it the
        // new policy refuses Good (404). Only a new route judged with the old policies lets one through.
        long sent = 0;
        async Task HammerAsync(Version version)
        {
            using var client = gateway.Client(Pki.Good, version);
            while (!stop.IsCancellationRequested)
            {
                using var response = await client.GetAsync("/v2/from-good");
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                Interlocked.Increment(ref sent);
            }
        }

        var loops = new[] { HammerAsync(HttpVersion.Version11), HammerAsync(HttpVersion.Version11), HammerAsync(HttpVersion.Version20), HammerAsync(HttpVersion.Version20) };
        await Eventually.TrueAsync(() => Interlocked.Read(ref sent) >= 20 || loops.Any(l => l.IsCompleted), TimeSpan.FromSeconds(20), "the request loops are under way");

        var reloaded = await gateway.WaitForReloadAsync(() =>
        {
            gateway.Config["MtlsGate"]!["Policies"] = new JsonObject
            {
                ["Strict"] = new JsonObject { ["Identities"] = new JsonObject { ["SubjectCommonNames"] = new JsonArray("good-via-intermediate") } },
            };
            gateway.Config["ReverseProxy"]!["Routes"]!["app"] = Route("/v2/{**rest}", "Strict");
            WriteConfig(gateway);
        });
        Assert.True(reloaded, string.Join("; ", gateway.State.LastReloadErrors));

        // Both halves are in force: the new path under the new policy, the old path gone.
        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, "/v2/allowed", Pki.GoodViaIntermediate));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, "/v2/refused", Pki.Good));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, "/app/gone"));
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/v2/from-good");
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/v2/refused");
    }

    [Fact]
    public async Task ARequestsRoute_LeadsToTheConfigurationThatBuiltIt_EvenAfterALaterSwap()
    {
        await using var gateway = await TestGateway.StartAsync(AppUnderItsOwnPath);
        var before = gateway.State.Current;
        var oldRoute = Assert.Single(before.Proxy.Routes);

        Assert.True(await gateway.WaitForReloadAsync(() =>
        {
            gateway.Config["ReverseProxy"]!["Routes"]!["app"] = Route("/v2/{**rest}");
            WriteConfig(gateway);
        }));
        var after = gateway.State.Current;
        var newRoute = Assert.Single(after.Proxy.Routes);

        Assert.NotSame(before, after);
        Assert.Same(before, gateway.State.SnapshotFor(oldRoute));
        Assert.Same(after, gateway.State.SnapshotFor(newRoute));
        Assert.Same(after, gateway.State.SnapshotFor(null));
    }

    [Fact]
    public async Task RefusedReload_ThenCreatingTheMissingFile_AppliesTheConfiguration_WithoutAnotherEdit()
    {
        await using var gateway = await TestGateway.StartAsync(AppUnderItsOwnPath);
        var missing = Path.Combine(gateway.Folder, "later.crl");

        var refused = await gateway.WaitForReloadAsync(() =>
        {
            gateway.Config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray("later.crl");
            gateway.Config["ReverseProxy"]!["Routes"]!["later"] = Route("/later/{**rest}");
            WriteConfig(gateway);
        });
        Assert.False(refused);
        Assert.Contains(gateway.State.LastReloadErrors, e => e.StartsWith("MtlsGate:TrustStores:Default:Crls:0", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, "/later/x"));

        var applied = await gateway.WaitForReloadAsync(() =>
        {
            File.WriteAllBytes(missing + ".tmp", TestPki.Crl(Pki.Root, [Pki.NoEku]));
            File.Move(missing + ".tmp", missing);
        });

        Assert.True(applied, string.Join("; ", gateway.State.LastReloadErrors));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, "/later/x"));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, "/later/revoked", Pki.NoEku));
    }

    public static TheoryData<string, string, string> YarpInvalid => new()
    {
        { "invalid path pattern", "ReverseProxy:Routes:bad:", "route" },
        { "unknown load-balancing policy", "ReverseProxy:Clusters:app:", "cluster" },
    };

    private static void MakeInvalid(JsonObject config, string kind)
    {
        if (kind == "route")
        {
            config["ReverseProxy"]!["Routes"]!["bad"] = Route("/bad/{id}/{id}");
        }
        else
        {
            config["ReverseProxy"]!["Clusters"]!["app"]!["LoadBalancingPolicy"] = "NoSuchBalancer";
        }
    }

    [Theory]
    [MemberData(nameof(YarpInvalid))]
    public async Task WhatYarpWouldRefuse_IsRefusedAtStartUp_NamingTheKey(string what, string key, string kind)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestGateway.StartAsync(config => MakeInvalid(config, kind)));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        _ = what;
    }

    [Theory]
    [MemberData(nameof(YarpInvalid))]
    public async Task WhatYarpWouldRefuse_IsRefusedAtReload_NamingTheKey_AndNothingChanges(string what, string key, string kind)
    {
        await using var gateway = await TestGateway.StartAsync(AppUnderItsOwnPath);

        var reloaded = await gateway.WaitForReloadAsync(() =>
        {
            MakeInvalid(gateway.Config, kind);
            gateway.Config["ReverseProxy"]!["Routes"]!["new"] = Route("/new/{**rest}");
            WriteConfig(gateway);
        });

        Assert.False(reloaded, what);
        Assert.Contains(gateway.State.LastReloadErrors, e => e.StartsWith(key, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, "/new/x"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, "/app/x"));
    }
}
