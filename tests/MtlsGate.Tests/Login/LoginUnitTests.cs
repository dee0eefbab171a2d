using System.Text.Json.Nodes;
using MtlsGate.Configuration;
using MtlsGate.Login;
using MtlsGate.Policy;
using MtlsGate.Tests.Configuration;

namespace MtlsGate.Tests.Login;

/// <summary>The pure parts of certificate OR login: compile, the policy with a session fact, the prompt, return URLs, cookies, the bootstrap.</summary>
public sealed class LoginUnitTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    private (GatewaySnapshot? Snapshot, IReadOnlyList<string> Errors) Compile(JsonObject? login, string require = "CertificateOrLogin")
    {
        var config = ConfigFiles.Minimal();
        var gate = config["MtlsGate"]!.AsObject();
        gate["Policies"] = new JsonObject { ["Default"] = new JsonObject { ["Require"] = require } };
        gate["StateDirectory"] = "state";
        if (login is not null)
        {
            gate["Login"] = login;
        }

        return _files.Compile(config);
    }

    private static readonly LoginSession Session = new("00", "alice", "alice@example.test", LoginMethod.Oidc, DateTimeOffset.MaxValue);

    [Fact]
    public void CertificateOrLogin_without_a_Login_section_is_a_configuration_error_naming_the_policy()
    {
        var (snapshot, errors) = Compile(null);

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Policies:Default:Require: CertificateOrLogin needs MtlsGate:Login", StringComparison.Ordinal));
    }

    [Fact]
    public void Login_compiles_with_its_defaults()
    {
        var (snapshot, errors) = Compile(new JsonObject { ["BitwardenApps"] = true });

        Assert.True(snapshot is not null, string.Join("; ", errors));
        var login = snapshot.Login!;
        Assert.Null(login.Oidc);
        Assert.Equal("mtlsgate_session", login.CookieName);
        Assert.Equal(TimeSpan.FromDays(30), login.SessionLifetime);
        Assert.True(login.Allow.IsEmpty);
        Assert.Equal("groups", login.Allow.GroupsClaim);
        Assert.Equal(Requirement.CertificateOrLogin, snapshot.DefaultPolicy.Require);
        Assert.StartsWith(snapshot.StateDirectory, login.KeysDirectory, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_Login_error_is_reported_at_once_with_its_key()
    {
        var (snapshot, errors) = Compile(new JsonObject
        {
            ["Oidc"] = new JsonObject { ["Authority"] = "http://idp.example.com", ["Scopes"] = new JsonArray("email"), ["ClientSecret"] = "a", ["ClientSecretFile"] = "b" },
            ["CookieName"] = "bad name;",
            ["SessionLifetime"] = "00:00:00",
            ["Allow"] = new JsonObject { ["Emails"] = new JsonArray("not-an-address") },
        });

        Assert.Null(snapshot);
        foreach (var key in new[] { "Oidc:Authority", "Oidc:ClientId", "Oidc:Scopes", "Oidc:ClientSecretFile", "CookieName", "SessionLifetime", "Allow:Emails:0" })
        {
            Assert.Contains(errors, e => e.StartsWith("MtlsGate:Login:" + key + ":", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:9000/", true)]
    [InlineData("http://localhost:9000", true)]
    [InlineData("http://[::1]:9000", true)]
    [InlineData("https://idp.example.com/realms/home", true)]
    [InlineData("http://192.168.1.10:9000", false)]
    [InlineData("ftp://idp.example.com", false)]
    [InlineData("https://user:pw@idp.example.com", false)]
    public void An_http_Authority_is_accepted_only_on_loopback(string authority, bool accepted)
    {
        var (snapshot, errors) = Compile(new JsonObject { ["Oidc"] = new JsonObject { ["Authority"] = authority, ["ClientId"] = "mtlsgate" } });

        Assert.Equal(accepted, snapshot is not null);
        Assert.Equal(accepted, !errors.Any(e => e.StartsWith("MtlsGate:Login:Oidc:Authority", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_client_secret_is_read_from_its_file()
    {
        File.WriteAllText(Path.Combine(_files.Folder, "secret"), "s3cret\n");
        var (snapshot, errors) = Compile(new JsonObject { ["Oidc"] = new JsonObject { ["Authority"] = "https://idp.example.com", ["ClientId"] = "c", ["ClientSecretFile"] = "secret" } });

        Assert.True(snapshot is not null, string.Join("; ", errors));
        Assert.Equal("s3cret", snapshot.Login!.Oidc!.ClientSecret);
    }

    [Fact]
    public void A_Login_key_that_does_not_exist_is_refused()
    {
        var (_, errors) = Compile(new JsonObject { ["CookeName"] = "x" });

        Assert.Contains(errors, e => e.Contains("MtlsGate:Login:CookeName", StringComparison.Ordinal));
    }

    private static CompiledPolicy Policy(Requirement require) => new("P", "Default", require, EnforcementMode.Enforce);

    [Fact]
    public void CertificateOrLogin_passes_with_a_session_where_the_certificate_is_missing()
    {
        var policy = Policy(Requirement.CertificateOrLogin);

        Assert.Equal(Decision.Allow, PolicyEvaluator.Evaluate(ClientIdentity.None, RequestFacts.For("GET") with { Session = Session }, policy));
        Assert.Equal(Decision.Deny(DenyReason.NoCertificate), PolicyEvaluator.Evaluate(ClientIdentity.None, RequestFacts.For("GET"), policy));
    }

    [Fact]
    public void A_session_counts_for_nothing_on_a_Certificate_policy()
    {
        Assert.Equal(Decision.Deny(DenyReason.NoCertificate), PolicyEvaluator.Evaluate(ClientIdentity.None, RequestFacts.For("GET") with { Session = Session }, Policy(Requirement.Certificate)));
    }

    [Fact]
    public void A_session_never_lifts_network_or_host_rules()
    {
        var policy = Policy(Requirement.CertificateOrLogin) with { AllowNetworks = [System.Net.IPNetwork.Parse("10.0.0.0/8")] };
        var facts = new RequestFacts("GET", System.Net.IPAddress.Parse("192.0.2.1"), null) { Session = Session };

        Assert.Equal(Decision.Deny(DenyReason.NetworkNotAllowed), PolicyEvaluator.Evaluate(ClientIdentity.None, facts, policy));
        Assert.Equal(Decision.Deny(DenyReason.HostMismatch), PolicyEvaluator.Evaluate(ClientIdentity.None, new RequestFacts("GET", null, null, false) { Session = Session }, Policy(Requirement.CertificateOrLogin)));
    }

    [Theory]
    [InlineData(DenyReason.Blocked)]
    [InlineData(DenyReason.Revoked)]
    public void A_session_never_stands_in_for_a_device_blocked_or_revoked_in_the_inventory(DenyReason device)
    {
        var facts = RequestFacts.For("GET") with { Session = Session, DeviceVerdict = device };

        Assert.Equal(Decision.Deny(device), PolicyEvaluator.Evaluate(ClientIdentity.None, facts, Policy(Requirement.CertificateOrLogin)));
    }

    [Fact]
    public void A_blocked_device_gets_the_configured_denial_never_a_302_to_log_in_again()
    {
        Assert.Equal(LoginPrompt.None, LoginPrompts.For(Policy(Requirement.CertificateOrLogin), Decision.Deny(DenyReason.Blocked), browserNavigation: false, bitwardenApps: true));
    }

    [Theory]
    [InlineData(DenyReason.NoCertificate, true, false, LoginPrompt.LoginPage)]
    [InlineData(DenyReason.Expired, false, true, LoginPrompt.BitwardenConnector)]
    [InlineData(DenyReason.Revoked, false, false, LoginPrompt.None)]
    [InlineData(DenyReason.NetworkNotAllowed, true, true, LoginPrompt.None)]
    [InlineData(DenyReason.HostMismatch, false, true, LoginPrompt.None)]
    [InlineData(DenyReason.ConnectionLifetimeExceeded, false, true, LoginPrompt.None)]
    public void Only_a_denial_a_login_could_lift_becomes_a_302(DenyReason reason, bool navigation, bool bitwarden, LoginPrompt expected)
    {
        Assert.Equal(expected, LoginPrompts.For(Policy(Requirement.CertificateOrLogin), Decision.Deny(reason), navigation, bitwarden));
        Assert.Equal(LoginPrompt.None, LoginPrompts.For(Policy(Requirement.Certificate), Decision.Deny(reason), navigation, bitwarden));
    }

    [Theory]
    [InlineData("/vault/#/login", "/vault/#/login")]
    [InlineData("/", "/")]
    [InlineData(null, "/")]
    [InlineData("", "/")]
    [InlineData("https://evil.example", "/")]
    [InlineData("//evil.example", "/")]
    [InlineData("/\\evil.example", "/")]
    [InlineData("/a\\b", "/")]
    [InlineData("/a\r\nLocation: x", "/")]
    [InlineData("/a b", "/")]
    public void ReturnUrl_keeps_only_local_paths(string? value, string expected) => Assert.Equal(expected, ReturnUrl.Sanitize(value));

    [Theory]
    [InlineData("mtlsgate_session=abc", null)]
    [InlineData("a=1; mtlsgate_session=abc; b=2", "a=1; b=2")]
    [InlineData("mtlsgate_session-0=x; mtlsgate_session-1=y;c=3", "c=3")]
    [InlineData("mtlsgate_session_other=1; mtlsgate_sessionx=2; mtlsgate_session-a=3", "mtlsgate_session_other=1; mtlsgate_sessionx=2; mtlsgate_session-a=3")]
    [InlineData("x=mtlsgate_session", "x=mtlsgate_session")]
    public void The_session_cookie_and_its_shards_are_stripped_and_every_other_cookie_kept(string header, string? expected) =>
        Assert.Equal(expected, SessionCookies.Strip(header, "mtlsgate_session"));

    [Fact]
    public void The_bootstrap_replaces_communication_and_keeps_everything_else()
    {
        var body = """{"environment":{"vault":"https://vault.example:8443"},"Communication":{"x":1},"communication":null,"version":"1"}"""u8;

        var injected = ConfigBootstrap.Inject(body, "vault.example", "https://vault.example:8443/.mtlsgate/login", "mtlsgate_session", out var problem);

        Assert.Null(problem);
        var json = JsonNode.Parse(injected)!.AsObject();
        Assert.Equal("https://vault.example:8443", json["environment"]!["vault"]!.GetValue<string>());
        Assert.Equal("1", json["version"]!.GetValue<string>());
        Assert.Single(json, p => p.Key.Equals("communication", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("""{"bootstrap":{"type":"ssoCookieVendor","idpLoginUrl":"https://vault.example:8443/.mtlsgate/login","cookieName":"mtlsgate_session","cookieDomain":"vault.example"}}""", json["communication"]!.ToJsonString());
        Assert.Null(ConfigBootstrap.Inject("[1]"u8, "h", "u", "c", out var notObject));
        Assert.NotNull(notObject);
    }
}
