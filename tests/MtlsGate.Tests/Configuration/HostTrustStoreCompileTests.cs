using System.Text.Json.Nodes;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Configuration;

/// <summary>
/// A configured host's trust store holds for every request on its connections (SECURITY.md case 22):
/// a route whose policy says otherwise and can serve the host is refused; the resolution at run
/// time uses the host's store; an unknown policy denies everything (case 23).
/// </summary>
public sealed class HostTrustStoreCompileTests : IDisposable
{
    private static readonly TestPki Pki = TestPki.Instance;
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>The shape: other.test with TrustStore Other (no host policy), one catch-all route.</summary>
    private static JsonObject OtherHost(JsonNode? routeMetadata = null, JsonNode? matchHosts = null)
    {
        var config = ConfigFiles.Minimal();
        var gate = config["MtlsGate"]!.AsObject();
        gate["TrustStores"]!["Other"] = new JsonObject { ["CaBundle"] = "other-ca.pem" };
        gate["Hosts"] = new JsonObject { ["other.test"] = new JsonObject { ["TrustStore"] = "Other" } };
        var route = config["ReverseProxy"]!["Routes"]!["app"]!.AsObject();
        if (routeMetadata is not null)
        {
            route["Metadata"] = routeMetadata;
        }

        if (matchHosts is not null)
        {
            route["Match"]!["Hosts"] = matchHosts;
        }

        return config;
    }

    private static Decision Decide(GatewaySnapshot snapshot, string? host, string? routePolicy, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var (policy, store) = PolicyResolution.For(snapshot, host, routePolicy);
        var identity = new ClientIdentity(certificate, ChainValidator.Validate(store!, certificate, null, DateTimeOffset.UtcNow));
        return PolicyEvaluator.Evaluate(identity, RequestFacts.For("GET"), policy);
    }

    [Fact]
    public void ARouteWithoutPolicy_OnAHostWithItsOwnTrustStore_IsJudgedAgainstTheHostsStore()
    {
        var (snapshot, errors) = _files.Compile(OtherHost());

        Assert.Empty(errors);
        var resolved = PolicyResolution.For(snapshot!, "other.test", null);
        Assert.Equal("Default", resolved.Policy.Name);
        Assert.Equal("Other", resolved.TrustStore!.Name);
        Assert.Equal(Outcome.Deny, Decide(snapshot!, "other.test", null, Pki.Good).Outcome);
        Assert.Equal(Outcome.Allow, Decide(snapshot!, "other.test", null, Pki.OtherRootLeaf).Outcome);
        Assert.Equal(Outcome.Allow, Decide(snapshot!, null, null, Pki.Good).Outcome);
        Assert.Equal(Outcome.Deny, Decide(snapshot!, null, null, Pki.OtherRootLeaf).Outcome);
    }

    [Fact]
    public void ARouteNamingAPolicyWithAnotherTrustStore_ThatCanServeTheHost_IsRefused_NamingRoutePolicyAndHost()
    {
        var (snapshot, errors) = _files.Compile(OtherHost(new JsonObject { ["MtlsGate.Policy"] = "Default" }));

        Assert.Null(snapshot);
        var error = Assert.Single(errors);
        Assert.StartsWith("ReverseProxy:Routes:app:Metadata:MtlsGate.Policy: route 'app' uses policy 'Default' (trust store 'Default') and can serve host 'other.test'", error, StringComparison.Ordinal);
        Assert.Contains("trust store 'Other'", error, StringComparison.Ordinal);
        Assert.Contains("Match:Hosts", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("other.test")]
    [InlineData("OTHER.test:8443")]
    [InlineData("*.test")]
    [InlineData("*")]
    [InlineData("other.*")]
    public void AMatchHostsThatCouldMatchTheHost_StillServesIt(string pattern)
    {
        var (snapshot, errors) = _files.Compile(OtherHost(new JsonObject { ["MtlsGate.Policy"] = "Default" }, new JsonArray("vault.test", pattern)));

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.Contains("can serve host 'other.test'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("vault.test")]
    [InlineData("*.example.com")]
    [InlineData("[::1]")]
    [InlineData("other.test.example.com")]
    public void ARouteScopedAwayFromTheHostWithMatchHosts_IsAccepted(string pattern)
    {
        var (snapshot, errors) = _files.Compile(OtherHost(new JsonObject { ["MtlsGate.Policy"] = "Default" }, new JsonArray(pattern)));

        Assert.Empty(errors);
        Assert.NotNull(snapshot);
    }

    [Fact]
    public void ARouteNamingAPolicyOfTheHostsOwnTrustStore_IsAccepted_AndAPublicPolicyToo()
    {
        var config = OtherHost(new JsonObject { ["MtlsGate.Policy"] = "OtherDevices" });
        config["MtlsGate"]!["Policies"] = new JsonObject
        {
            ["OtherDevices"] = new JsonObject { ["TrustStore"] = "Other" },
            ["Public"] = new JsonObject { ["Require"] = "None" },
        };
        config["ReverseProxy"]!["Routes"]!["send"] = JsonNode.Parse("""{ "ClusterId": "app", "Match": { "Path": "/send" }, "Metadata": { "MtlsGate.Policy": "Public" } }""");

        var (snapshot, errors) = _files.Compile(config);

        Assert.Empty(errors);
        Assert.Equal("Other", PolicyResolution.For(snapshot!, "other.test", "Public").TrustStore!.Name);
    }

    [Fact]
    public void AHostPolicyWithAnotherTrustStore_IsRefused()
    {
        var config = OtherHost();
        config["MtlsGate"]!["Hosts"]!["other.test"]!["Policy"] = "Default";

        var (_, errors) = _files.Compile(config);

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Hosts:other.test:Policy: policy 'Default' validates against trust store 'Default'", StringComparison.Ordinal));
    }

    [Fact]
    public void AtRunTime_ARoutePolicyWithAnotherStore_OnAHostConnection_StillUsesTheHostsStore()
    {
        // Scoped away at compile time; the resolution is asked anyway (defence in depth: a route
        // table and a snapshot that disagree for a moment).
        var (snapshot, errors) = _files.Compile(OtherHost(new JsonObject { ["MtlsGate.Policy"] = "Default" }, new JsonArray("vault.test")));
        Assert.Empty(errors);

        Assert.Equal("Other", PolicyResolution.For(snapshot!, "other.test", "Default").TrustStore!.Name);
        Assert.Equal("Other", PolicyResolution.For(snapshot!, "OTHER.TEST.", "Default").TrustStore!.Name);
        Assert.Equal(Outcome.Deny, Decide(snapshot!, "other.test", "Default", Pki.Good).Outcome);
    }

    [Fact]
    public void AnUnknownPolicyName_DeniesEverything_NeverFallingBackToDefault()
    {
        var config = ConfigFiles.Minimal();
        config["MtlsGate"]!["Mode"] = "LogOnly";
        var (snapshot, errors) = _files.Compile(config);
        Assert.Empty(errors);

        var (policy, _) = PolicyResolution.For(snapshot!, null, "NoSuchPolicy");
        var decision = PolicyEvaluator.Evaluate(new ClientIdentity(Pki.Good, DenyReason.None), RequestFacts.For("GET"), policy);

        Assert.True(snapshot!.PolicyFor("NoSuchPolicy").DeniesEverything);
        Assert.NotSame(snapshot.DefaultPolicy, snapshot.PolicyFor("NoSuchPolicy"));
        Assert.Equal(Decision.Deny(DenyReason.NoRoute), decision);
        Assert.Same(snapshot.DenialsFor(snapshot.DefaultPolicy).Deny, snapshot.DenialsFor(policy).Deny);
        Assert.Same(snapshot.DefaultPolicy, snapshot.PolicyFor(null));
    }

    [Fact]
    public void ARouteNamingAnUnknownPolicy_IsACompileError()
    {
        var (_, errors) = _files.Compile(OtherHost(new JsonObject { ["MtlsGate.Policy"] = "Nope" }));

        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Routes:app:Metadata:MtlsGate.Policy: unknown policy 'Nope'", StringComparison.Ordinal));
    }

    [Fact]
    public void ThePolicyAPolicyFailedToCompile_IsNotReportedUnknownAsWell()
    {
        var config = OtherHost(new JsonObject { ["MtlsGate.Policy"] = "Broken" });
        config["MtlsGate"]!["Policies"] = new JsonObject { ["Broken"] = new JsonObject { ["Require"] = "1" } };

        var (_, errors) = _files.Compile(config);

        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:Policies:Broken:Require: '1' is not one of Certificate, ", error, StringComparison.Ordinal);
    }
}
