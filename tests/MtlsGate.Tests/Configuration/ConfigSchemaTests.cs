using Microsoft.Extensions.Configuration;
using System.Text.Json.Nodes;
using MtlsGate.Configuration;

namespace MtlsGate.Tests.Configuration;

/// <summary>
/// Unknown keys, wrong shapes, malformed scalars and numbers for enum names anywhere under
/// <c>MtlsGate:</c> are refused naming the key (SECURITY.md case 21); keys elsewhere are not ours.
/// </summary>
public sealed class ConfigSchemaTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Sets the value at a colon path (creating sections), in the two-host configuration.</summary>
    private static JsonObject With(string path, JsonNode? value, JsonObject? config = null)
    {
        config ??= ConfigFiles.TwoHostsWithAllowList();
        var parts = path.Split(':');
        var node = config;
        foreach (var part in parts[..^1])
        {
            node = (node[part] ??= new JsonObject()).AsObject();
        }

        node[parts[^1]] = value;
        return config;
    }

    private IReadOnlyList<string> Refused(JsonObject config)
    {
        var (snapshot, errors) = _files.Compile(config);
        Assert.Null(snapshot);
        return errors;
    }

    [Fact]
    public void TheTwoHostConfiguration_Compiles()
    {
        var (snapshot, errors) = _files.Compile(ConfigFiles.TwoHostsWithAllowList());

        Assert.Empty(errors);
        Assert.NotNull(snapshot);
    }

    [Theory]
    [InlineData("MtlsGate:Polices", "Policies")]
    [InlineData("MtlsGate:Lisen", "Listen")]
    [InlineData("MtlsGate:Policies:Default:Identites", "Identities")]
    [InlineData("MtlsGate:Policies:Default:Requir", "Require")]
    [InlineData("MtlsGate:Policies:Default:Identities:SubjectCommonName", "SubjectCommonNames")]
    [InlineData("MtlsGate:Policies:Default:Identities:Organisations", "Organizations")]
    [InlineData("MtlsGate:Policies:Default:Deny:Stauts", "Status")]
    [InlineData("MtlsGate:Policies:Default:DenyByReason:Revokd", "Revoked")]
    [InlineData("MtlsGate:TrustStores:Default:CaBundel", "CaBundle")]
    [InlineData("MtlsGate:TrustStores:Other:DenyFingerprint", "DenyFingerprints")]
    [InlineData("MtlsGate:Hosts:other.test:TrustStor", "TrustStore")]
    [InlineData("MtlsGate:Hosts:other.test:ServerCertificate:KeyPth", "KeyPath")]
    [InlineData("MtlsGate:Limits:MaxRequestBodySise", "MaxRequestBodySize")]
    public void AMisspeltKey_Anywhere_IsRefusedWithTheNearestValidName(string path, string suggestion)
    {
        var errors = Refused(With(path, "x"));

        Assert.Contains($"{path}: unknown key; did you mean '{suggestion}'?", errors);
    }

    [Fact]
    public void TheMisspeltIdentitiesOfTheIssue_IsRefused_InsteadOfDroppingTheAllowList()
    {
        var config = ConfigFiles.TwoHostsWithAllowList();
        var policy = config["MtlsGate"]!["Policies"]!["Default"]!.AsObject();
        var identities = policy["Identities"]!;
        policy.Remove("Identities");
        policy["Identites"] = identities;

        var errors = Refused(config);

        Assert.Equal(["MtlsGate:Policies:Default:Identites: unknown key; did you mean 'Identities'?"], errors);
    }

    [Fact]
    public void AnUnrelatedUnknownKey_ListsTheValidKeysThere()
    {
        var errors = Refused(With("MtlsGate:Forwarding:Zzzzzzzzzz", "x"));

        Assert.Contains("MtlsGate:Forwarding:Zzzzzzzzzz: unknown key; valid here: IdentityHeaders, PreserveHost.", errors);
    }

    [Fact]
    public void KeysOutsideMtlsGate_AreNotOurs()
    {
        var config = With("Serilog:Whatever:Deep", "x");
        config["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } };
        config["ReverseProxy"]!["Routes"]!["app"]!["Transforms"] = new JsonArray(new JsonObject { ["PathPrefix"] = "/x" });
        config["SomethingElse"] = "1";

        var (snapshot, errors) = _files.Compile(config);

        Assert.Empty(errors);
        Assert.NotNull(snapshot);
    }

    [Fact]
    public void KeysInAnotherCase_AreTheSameKeys()
    {
        var config = ConfigFiles.TwoHostsWithAllowList();
        var policies = config["MtlsGate"]!["Policies"]!.AsObject();
        var admins = policies["Admins"]!;
        policies.Remove("Admins");
        policies["admins"] = JsonNode.Parse("""{ "TRUSTSTORE": "Default", "identities": { "subjectCommonNames": ["someone-else"] } }""");

        var (snapshot, errors) = _files.Compile(config);

        Assert.Empty(errors);
        Assert.Equal(["someone-else"], snapshot!.PolicyFor("Admins").Identities!.SubjectCommonNames);
        Assert.NotNull(admins);
    }

    private static readonly string[] EnumKeys =
    [
        "MtlsGate:Mode",
        "MtlsGate:Policies:Default:Require",
        "MtlsGate:Policies:Default:Mode",
        "MtlsGate:Policies:Public:Require",
        "MtlsGate:Policies:Default:Deny:Action",
        "MtlsGate:Policies:Default:DenyByReason:Revoked:Action",
        "MtlsGate:Forwarding:IdentityHeaders",
        "MtlsGate:Logging:Format",
        "MtlsGate:ClientIpHeader",
    ];

    public static TheoryData<string, string> EnumKeysAndNumbers()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in EnumKeys)
        {
            foreach (var number in new[] { "1", "0", "-1", " 1", "0x1", "1,2" })
            {
                data.Add(key, number);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EnumKeysAndNumbers))]
    public void ANumberWhereAnEnumNameBelongs_IsRefused_ForEveryEnumKey(string key, string number)
    {
        var errors = Refused(With(key, number));

        Assert.Contains(errors, e => e.StartsWith($"{key}: '{number}' is not one of ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-1")]
    public void ANumberAsADenyByReasonKey_IsRefused(string number)
    {
        var errors = Refused(With($"MtlsGate:Policies:Default:DenyByReason:{number}", new JsonObject { ["Action"] = "Close" }));

        Assert.Contains(errors, e => e.StartsWith($"MtlsGate:Policies:Default:DenyByReason:{number}: unknown key;", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("MtlsGate:Policies:Default:Require", """{"x": 1}""", "expected a single value, found a section")]
    [InlineData("MtlsGate:Policies:Default:Require", """["Certificate"]""", "expected a single value, found a section")]
    [InlineData("MtlsGate:Policies:Default:Identities", "\"bob\"", "expected a section (object), found the value 'bob'")]
    [InlineData("MtlsGate:Policies:Default:Identities:SubjectCommonNames", "\"bob\"", "expected a list (array), found the value 'bob'")]
    [InlineData("MtlsGate:TrustStores:Other:DenyFingerprints", "\"ab\"", "expected a list (array), found the value 'ab'")]
    [InlineData("MtlsGate:TrustedProxies", "\"10.0.0.0/8\"", "expected a list (array), found the value '10.0.0.0/8'")]
    [InlineData("MtlsGate:Hosts", "\"other.test\"", "expected a section (object), found the value 'other.test'")]
    [InlineData("MtlsGate:Hosts:other.test:TrustStore", """{"Name": "Other"}""", "expected a single value, found a section")]
    [InlineData("MtlsGate:Listen:Gateway", """{"Url": "https://127.0.0.1:0"}""", "'Url' is not a list index")]
    [InlineData("MtlsGate:Policies:Default:Deny", "\"Close\"", "expected a section (object), found the value 'Close'")]
    public void AWrongShape_IsRefusedNamingTheKey(string path, string json, string why)
    {
        var errors = Refused(With(path, JsonNode.Parse(json)));

        Assert.Contains(errors, e => e.StartsWith(path, StringComparison.Ordinal) && e.Contains(why, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("MtlsGate:Forwarding:PreserveHost", "1")]
    [InlineData("MtlsGate:Forwarding:PreserveHost", "yes")]
    [InlineData("MtlsGate:Policies:Default:Deny:Status", "0x194")]
    [InlineData("MtlsGate:Limits:MaxRequestBodySize", "1,000")]
    [InlineData("MtlsGate:Limits:MaxStreamsPerConnection", "99999999999")]
    [InlineData("MtlsGate:Reload:PollInterval", "2")]
    [InlineData("MtlsGate:Tls:HandshakeTimeout", "10s")]
    [InlineData("MtlsGate:Expiry:WarnDays:0", "thirty")]
    public void AMalformedScalar_IsRefusedNamingTheKey(string path, string value)
    {
        var errors = Refused(With(path, value));

        Assert.Contains(errors, e => e.StartsWith($"{path}: '{value}' is not ", StringComparison.Ordinal));
    }

    [Fact]
    public void SeveralSchemaErrors_AreAllReported_WithTheSemanticErrorsOfTheRest()
    {
        var config = With("MtlsGate:Policies:Default:Identites", new JsonObject());
        With("MtlsGate:Forwarding:PreserveHost", "maybe", config);
        With("MtlsGate:TrustStores:Other:CaBundle", "missing.pem", config);

        var errors = Refused(config);

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Policies:Default:Identites: unknown key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Forwarding:PreserveHost: 'maybe'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:TrustStores:Other:CaBundle: file ", StringComparison.Ordinal));
    }

    [Fact]
    public void AJsonNull_IsNotSet_AndAnEmptyListIsEmpty()
    {
        var config = With("MtlsGate:Limits:MaxConcurrentConnections", null);
        With("MtlsGate:TrustedProxies", new JsonArray(), config);

        var (snapshot, errors) = _files.Compile(config);

        Assert.Empty(errors);
        Assert.Null(snapshot!.Limits.MaxConcurrentConnections);
        Assert.Empty(snapshot.TrustedProxies);
    }

    private static readonly string[] SampleKeys = ["Children", "GetOnly", "Items", "Name", "renamed", "Tags"];

    private sealed class SampleOptions
    {
        public string? Name { get; set; }
        public Dictionary<string, SampleChild> Children { get; set; } = [];
        public List<SampleChild> Items { get; set; } = [];
        public string[] Tags { get; set; } = [];
        public List<string> GetOnly { get; } = [];
        public string Computed => Name ?? "never bound";
        [Microsoft.Extensions.Configuration.ConfigurationKeyName("renamed")]
        public int? Other { get; set; }
    }

    private sealed class SampleChild
    {
        public TimeSpan? Every { get; set; }
    }

    [Fact]
    public void TheSchema_IsDerivedFromTheOptionsClasses()
    {
        var root = Assert.IsType<ConfigSchema.SectionNode>(ConfigSchema.For(typeof(SampleOptions)));

        Assert.Equal(SampleKeys, root.Properties.Keys.Order(StringComparer.OrdinalIgnoreCase));
        var map = Assert.IsType<ConfigSchema.MapNode>(root.Properties["Children"]);
        Assert.IsType<ConfigSchema.Leaf>(Assert.IsType<ConfigSchema.SectionNode>(map.Value).Properties["Every"]);
        Assert.IsType<ConfigSchema.SectionNode>(Assert.IsType<ConfigSchema.ListNode>(root.Properties["Items"]).Element);
        Assert.IsType<ConfigSchema.Leaf>(Assert.IsType<ConfigSchema.ListNode>(root.Properties["Tags"]).Element);
        Assert.IsType<ConfigSchema.ListNode>(root.Properties["GetOnly"]);
        Assert.False(root.Properties.ContainsKey("Computed"));
    }

    [Fact]
    public void TheGatewaySchema_CoversEveryOptionsSection_AndItsSpecialCases()
    {
        var root = Assert.IsType<ConfigSchema.SectionNode>(ConfigSchema.Root);
        var listen = Assert.IsType<ConfigSchema.SectionNode>(root.Properties["Listen"]);
        var policy = Assert.IsType<ConfigSchema.SectionNode>(Assert.IsType<ConfigSchema.MapNode>(root.Properties["Policies"]).Value);

        foreach (var property in typeof(MtlsGateOptions).GetProperties().Where(p => p.CanWrite))
        {
            Assert.True(root.Properties.ContainsKey(property.Name), property.Name);
        }

        Assert.IsType<ConfigSchema.OneOrMany>(listen.Properties["Gateway"]);
        var reasons = Assert.IsType<ConfigSchema.MapNode>(policy.Properties["DenyByReason"]);
        Assert.Contains("Revoked", reasons.Keys!);
        Assert.DoesNotContain("None", reasons.Keys!);
    }

    [Theory]
    [InlineData(false, 2)]
    [InlineData(true, 1)]
    public void ListenGateway_GivenAsOneValueByOneSourceAndAsAListByALaterOne_TakesTheLaterSourcesForm(bool singleIsLater, int expectedEndpoints)
    {
        // appsettings.json ships one URL; a --config file (a later source) may give a list, or the reverse.
        var single = ConfigFiles.TwoHostsWithAllowList();
        With("MtlsGate:Listen:Gateway", "https://127.0.0.1:0", single);
        var list = new JsonObject { ["MtlsGate"] = new JsonObject { ["Listen"] = new JsonObject { ["Gateway"] = new JsonArray("https://127.0.0.1:0", "https://[::1]:0") } } };
        var (first, second) = singleIsLater ? ((JsonNode)list, (JsonNode)single) : (single, list);
        var configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(first.ToJsonString())))
            .AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(second.ToJsonString())))
            .Build();

        var (snapshot, errors) = ConfigCompiler.Compile(configuration, _files.Folder);

        Assert.Empty(errors);
        Assert.Equal(expectedEndpoints, snapshot!.GatewayEndpoints.Count);
    }

    [Fact]
    public void Methods_InsideIdentitiesRatherThanAMethodRestriction_IsRefusedNamingTheKey()
    {
        // Methods belongs to MethodRestrictions entries; inside Identities it would restrict nothing.
        var errors = Refused(With("MtlsGate:Policies:Default:Identities:Methods", new JsonArray("GET")));

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Policies:Default:Identities:Methods: unknown key", StringComparison.OrdinalIgnoreCase));
    }
}
