using System.Collections.ObjectModel;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using MtlsGate.Configuration;
using Yarp.ReverseProxy.Configuration;

namespace MtlsGate.Tests.Configuration;

/// <summary>The gateway's binder of the ReverseProxy section reads what YARP's own reader reads, and refuses what YARP would silently misread.</summary>
public sealed class ProxyConfigCompilerTests
{
    private const string Everything = """
    {
      "ReverseProxy": {
        "Routes": {
          "full": {
            "ClusterId": "c1", "Order": -5, "MaxRequestBodySize": 1000, "AuthorizationPolicy": "Default", "CorsPolicy": "cors",
            "RateLimiterPolicy": "limit", "OutputCachePolicy": "cache", "TimeoutPolicy": "slow", "Timeout": "00:00:30",
            "Metadata": { "MtlsGate.Policy": "Default", "Other": "x" },
            "Transforms": [ { "PathPrefix": "/x" }, { "RequestHeader": "X-A", "Set": "y" } ],
            "Match": {
              "Path": "/full/{**rest}", "Hosts": [ "a.test", "b.test" ], "Methods": [ "GET", "POST" ],
              "Headers": [ { "Name": "X-H", "Values": [ "v1", "v2" ], "Mode": "HeaderPrefix", "IsCaseSensitive": true } ],
              "QueryParameters": [ { "Name": "q", "Values": [ "1" ], "Mode": "Contains" } ]
            }
          },
          "hosts-only": { "ClusterId": "c2", "Match": { "Hosts": [ "c.test" ] } }
        },
        "Clusters": {
          "c1": {
            "LoadBalancingPolicy": "RoundRobin",
            "SessionAffinity": {
              "Enabled": true, "Policy": "Cookie", "FailurePolicy": "Redistribute", "AffinityKeyName": "k",
              "Cookie": { "Path": "/", "SameSite": "Lax", "HttpOnly": true, "MaxAge": "01:00:00", "Domain": "a.test", "IsEssential": true, "SecurePolicy": "Always", "Expiration": "02:00:00" }
            },
            "HealthCheck": {
              "AvailableDestinationsPolicy": "HealthyOrPanic",
              "Active": { "Enabled": true, "Interval": "00:00:10", "Timeout": "00:00:05", "Policy": "ConsecutiveFailures", "Path": "/alive", "Query": "?a=1" },
              "Passive": { "Enabled": true, "Policy": "TransportFailureRate", "ReactivationPeriod": "00:02:00" }
            },
            "HttpClient": {
              "SslProtocols": [ "Tls12", "Tls13" ], "DangerousAcceptAnyServerCertificate": false, "MaxConnectionsPerServer": 10,
              "EnableMultipleHttp2Connections": true, "RequestHeaderEncoding": "utf-8", "ResponseHeaderEncoding": "latin1",
              "WebProxy": { "Address": "http://proxy.test:3128", "BypassOnLocal": true, "UseDefaultCredentials": false }
            },
            "HttpRequest": { "ActivityTimeout": "00:10:00", "Version": "2", "VersionPolicy": "RequestVersionOrLower", "AllowResponseBuffering": true },
            "Metadata": { "m": "n" },
            "Destinations": { "d1": { "Address": "http://127.0.0.1:1", "Health": "http://127.0.0.1:2/", "Host": "h.test", "Metadata": { "dm": "dv" } } }
          },
          "c2": { "Destinations": { "d1": { "Address": "http://127.0.0.1:3" } } }
        }
      }
    }
    """;

    private static IConfiguration Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    /// <summary>
    /// YARP's own reader (internal: Yarp.ReverseProxy.Configuration.ConfigProvider.ConfigurationConfigProvider,
    /// what LoadFromConfig registers), reached by reflection so the two can be compared field by field.
    /// </summary>
    private static IProxyConfig YarpReads(IConfiguration configuration)
    {
        var type = typeof(IProxyConfigProvider).Assembly.GetType("Yarp.ReverseProxy.Configuration.ConfigProvider.ConfigurationConfigProvider", throwOnError: true)!;
        var logger = Activator.CreateInstance(typeof(NullLogger<>).MakeGenericType(type))!;
        var provider = (IProxyConfigProvider)Activator.CreateInstance(type, logger, configuration.GetSection("ReverseProxy"))!;
        return provider.GetConfig();
    }

    private static RouteConfig WithoutGeneration(RouteConfig route)
    {
        var metadata = route.Metadata!.Where(m => m.Key != ProxyConfigCompiler.GenerationMetadataKey).ToDictionary(m => m.Key, m => m.Value, StringComparer.OrdinalIgnoreCase);
        return route with { Metadata = metadata.Count == 0 ? null : new ReadOnlyDictionary<string, string>(metadata) };
    }

    [Fact]
    public void Compile_EveryKeyYarpReads_GivesTheSameRoutesAndClustersAsYarpsOwnReader()
    {
        var configuration = Json(Everything);
        var errors = new List<string>();

        var ours = ProxyConfigCompiler.Compile(configuration, errors);
        var yarp = YarpReads(configuration);

        Assert.Empty(errors);
        Assert.Equal(yarp.Routes.OrderBy(r => r.RouteId), ours.Routes.Select(WithoutGeneration).OrderBy(r => r.RouteId));
        Assert.Equal(yarp.Clusters.OrderBy(c => c.ClusterId), ours.Clusters.OrderBy(c => c.ClusterId));
        var full = ours.Routes.Single(r => r.RouteId == "full");
        Assert.Equal(TimeSpan.FromSeconds(30), full.Timeout);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13, ours.Clusters.Single(c => c.ClusterId == "c1").HttpClient!.SslProtocols);
    }

    [Fact]
    public void Compile_TwoCompilesOfTheSameFile_GiveRoutesThatDiffer_SoYarpNeverKeepsAnOldRouteObject()
    {
        var configuration = Json(Everything);

        var first = ProxyConfigCompiler.Compile(configuration, []);
        var second = ProxyConfigCompiler.Compile(configuration, []);

        Assert.NotEqual(first.Routes[0], second.Routes[0]);
        Assert.Equal(WithoutGeneration(first.Routes[0]), WithoutGeneration(second.Routes[0]));
    }

    [Theory]
    [InlineData("ReverseProxy:Routes:r:Order", "first", "ReverseProxy:Routes:r:Order: 'first' is not an integer")]
    [InlineData("ReverseProxy:Routes:r:Timeout", "30s", "ReverseProxy:Routes:r:Timeout: '30s' is not a duration")]
    [InlineData("ReverseProxy:Routes:r:Matchh:Path", "/x", "ReverseProxy:Routes:r:Matchh: unknown key; did you mean 'Match'?")]
    [InlineData("ReverseProxy:Routes:r:Match:Headers:0:Mode", "1", "ReverseProxy:Routes:r:Match:Headers:0:Mode: '1' is not one of")]
    [InlineData("ReverseProxy:Routes:r:Match:Hosts", "a.test", "ReverseProxy:Routes:r:Match:Hosts: 'a.test' is a single value where an array belongs")]
    [InlineData("ReverseProxy:Routes:r:RouteId", "r", "ReverseProxy:Routes:r:RouteId: not allowed")]
    [InlineData("ReverseProxy:Routes:r:Metadata:MtlsGate.Generation", "7", "ReverseProxy:Routes:r:Metadata:MtlsGate.Generation: reserved")]
    [InlineData("ReverseProxy:Clusters:c:HttpRequest:ActivityTimeout", "10s", "ReverseProxy:Clusters:c:HttpRequest:ActivityTimeout: '10s' is not a duration")]
    [InlineData("ReverseProxy:Clusters:c:HttpClient:SslProtocols:0", "Tls99", "ReverseProxy:Clusters:c:HttpClient:SslProtocols: 'Tls99' is not one of")]
    [InlineData("ReverseProxy:Clusters:c:HealthCheck:Active:Enabled", "yes", "ReverseProxy:Clusters:c:HealthCheck:Active:Enabled: 'yes' is not true or false")]
    [InlineData("ReverseProxy:Clusters:c:Destinations:d1:Adress", "http://x", "ReverseProxy:Clusters:c:Destinations:d1:Adress: unknown key; did you mean 'Address'?")]
    public void Compile_AValueYarpWouldThrowOnOrIgnore_IsAnErrorNamingItsKey(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:r:ClusterId"] = "c",
            ["ReverseProxy:Routes:r:Match:Path"] = "/r",
            ["ReverseProxy:Clusters:c:Destinations:d1:Address"] = "http://127.0.0.1:1",
            [key] = value,
        }).Build();
        var errors = new List<string>();

        ProxyConfigCompiler.Compile(configuration, errors);

        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }
}
