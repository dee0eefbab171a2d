using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>
/// Over real TLS with the two-host fixture (b.test: its own trust store, the other root only): the
/// host's trust store holds for every request on its connections, whatever the route's policy says
/// (SECURITY.md case 22), and a route that would contradict it is refused at start-up.
/// </summary>
public sealed class HostTrustStoreTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    /// <summary>b.test keeps TrustStore Other but has no Policy of its own: its routes without policy get Default.</summary>
    private static Task<TestGateway> StartAsync(Action<JsonObject>? more = null) =>
        TwoHosts.StartAsync(Directory.CreateTempSubdirectory("mtlsgate-hosts-").FullName, config =>
        {
            config["MtlsGate"]!["Hosts"]!["b.test"]!.AsObject().Remove("Policy");
            more?.Invoke(config);
        });

    private static async Task<HttpStatusCode> GetAsync(TestGateway gateway, X509Certificate2 certificate, string host, string path)
    {
        using var client = TwoHosts.NamedClient(gateway, certificate);
        using var response = await client.GetAsync($"https://{host}:{gateway.GatewayUri.Port}{path}");
        return response.StatusCode;
    }

    private static void CatchAllNames(JsonObject config, string policy, params string[] matchHosts)
    {
        var route = config["ReverseProxy"]!["Routes"]!["app"]!.AsObject();
        route["Metadata"] = new JsonObject { ["MtlsGate.Policy"] = policy };
        if (matchHosts.Length != 0)
        {
            route["Match"]!["Hosts"] = new JsonArray(matchHosts.Select(h => (JsonNode)JsonValue.Create(h)).ToArray());
        }
    }

    [Fact]
    public async Task A_catch_all_route_without_policy_judges_the_hosts_requests_against_the_hosts_own_trust_store()
    {
        await using var gateway = await StartAsync();

        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, Pki.Good, "b.test", "/b-default-ca"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, Pki.OtherRootLeaf, "b.test", "/b-other-ca"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, Pki.Good, "a.test", "/a-default-ca"));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, Pki.OtherRootLeaf, "a.test", "/a-other-ca"));
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path is "/b-default-ca" or "/a-other-ca");
    }

    [Fact]
    public async Task A_route_naming_a_policy_of_another_trust_store_that_can_serve_the_host_is_refused_at_start_up()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(config => CatchAllNames(config, "Default")));

        Assert.Contains("ReverseProxy:Routes:app:Metadata:MtlsGate.Policy", refused.Message, StringComparison.Ordinal);
        Assert.Contains("route 'app' uses policy 'Default' (trust store 'Default') and can serve host 'b.test'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("trust store 'Other'", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_route_scoped_to_another_host_with_Match_Hosts_is_accepted()
    {
        await using var gateway = await StartAsync(config => CatchAllNames(config, "Default", "a.test"));

        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, Pki.Good, "a.test", "/a-scoped"));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, Pki.OtherRootLeaf, "b.test", "/b-unrouted"));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(gateway, Pki.Good, "b.test", "/b-unrouted-default-ca"));
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path.StartsWith("/b-", StringComparison.Ordinal));
    }
}
