using System.Net;
using System.Text.Json.Nodes;
using MtlsGate.Configuration;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>Country rules with a MaxMind-format database generated in-test.</summary>
public sealed class CountryTests
{
    private static string Database()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mtlsgate-geo-").FullName, "countries.mmdb");
        File.WriteAllBytes(path, MmdbWriter.CountryDatabase(("127.0.0.0/8", "DE"), ("203.0.113.0/24", "FR")));
        return path;
    }

    [Fact]
    public void CountryLookup_ReadsTheGeneratedDatabase()
    {
        using var lookup = new CountryLookup(Database());

        Assert.Equal("DE", lookup.CountryOf(IPAddress.Parse("127.0.0.1")));
        Assert.Equal("FR", lookup.CountryOf(IPAddress.Parse("203.0.113.77")));
        Assert.Null(lookup.CountryOf(IPAddress.Parse("198.51.100.1")));
    }

    [Theory]
    [InlineData("DE", null, null, HttpStatusCode.OK)]
    [InlineData("FR", null, null, HttpStatusCode.NotFound)]
    [InlineData(null, "DE", null, HttpStatusCode.NotFound)]
    [InlineData("DE", null, "198.51.100.1", HttpStatusCode.NotFound)] // unknown country
    [InlineData("FR", null, "203.0.113.5", HttpStatusCode.OK)]        // via a trusted proxy
    public async Task CountryRules_AllowOnlyTheListedCountries(string? allow, string? deny, string? forwardedFor, HttpStatusCode expected)
    {
        var database = Database();
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            var policy = new JsonObject();
            if (allow is not null)
            {
                policy["AllowCountries"] = new JsonArray(allow);
            }

            if (deny is not null)
            {
                policy["DenyCountries"] = new JsonArray(deny);
            }

            config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = policy };
            config["MtlsGate"]!["GeoIp"] = new JsonObject { ["Database"] = database };
            config["MtlsGate"]!["TrustedProxies"] = new JsonArray("127.0.0.1");
        });
        using var client = gateway.Client(TestPki.Instance.Good);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/geo");
        if (forwardedFor is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task CountryRulesWithoutADatabase_StopStartUp_NamingTheKey()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Policies"] = new JsonObject { ["Default"] = new JsonObject { ["AllowCountries"] = new JsonArray("DE") } }));

        Assert.Contains("MtlsGate:GeoIp:Database", error.Message, StringComparison.Ordinal);
    }
}
