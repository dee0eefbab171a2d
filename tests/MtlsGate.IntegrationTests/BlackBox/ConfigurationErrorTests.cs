using System.Text.Json.Nodes;
using MtlsGate.Tls;

namespace MtlsGate.Tests.BlackBox;

/// <summary>Broken configuration at start-up: exit code 2, every error on stderr naming its key and file.</summary>
[Collection(BlackBoxTests.Name)]
public sealed class ConfigurationErrorTests(PublishedGatewayFixture fixture)
{
    private const string CaBundleKey = "MtlsGate:TrustStores:Default:CaBundle";
    private const string ServerCertificateKey = "MtlsGate:ServerCertificate";

    private async Task<ProcessResult> ServeAsync(Sandbox sandbox, JsonObject config)
    {
        var file = sandbox.WriteConfig(config);
        return await ProcessRunner.RunAsync(fixture.Executable, ["--config", file], TimeSpan.FromSeconds(30), workingDirectory: sandbox.Directory);
    }

    private static JsonObject Config() => GatewayConfig.Default(new Uri("http://127.0.0.1:9"));

    private static void AssertConfigurationError(ProcessResult result)
    {
        Assert.False(result.TimedOut, "The gateway started instead of refusing its configuration.\n" + result);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.DoesNotContain("MtlsGate listening", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingCaBundleFile_Exits2_NamingTheKeyAndTheFile()
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);

        var result = await ServeAsync(sandbox, Config().WithCaBundle("missing-ca.pem"));

        AssertConfigurationError(result);
        Assert.Contains(CaBundleKey, result.StandardError, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(sandbox.Directory, "missing-ca.pem"), result.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("this is not a certificate\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUgYXQgYWxs\n-----END CERTIFICATE-----\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\n%%% garbage %%%\n-----END CERTIFICATE-----\n")]
    public async Task GarbageCaBundle_Exits2_NamingTheKeyAndTheFile(string garbage)
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);
        var path = sandbox.Write("garbage-ca.pem", garbage);

        var result = await ServeAsync(sandbox, Config().WithCaBundle("garbage-ca.pem"));

        AssertConfigurationError(result);
        Assert.Contains(CaBundleKey, result.StandardError, StringComparison.Ordinal);
        Assert.Contains(path, result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GarbageServerCertificatePem_Exits2_NamingTheKeyAndTheFile()
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);
        sandbox.Write("server.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUgYXQgYWxs\n-----END CERTIFICATE-----\n");

        var result = await ServeAsync(sandbox, Config());

        AssertConfigurationError(result);
        Assert.Contains(ServerCertificateKey, result.StandardError, StringComparison.Ordinal);
        Assert.Contains(sandbox.ServerPem, result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerKeyThatDoesNotMatchTheCertificate_Exits2_NamingTheKeyAndTheFiles()
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);
        using var stranger = TestPki.IssueServer(pki.Root);
        sandbox.Write("server.key", Pki.KeyPem(stranger));

        var result = await ServeAsync(sandbox, Config());

        AssertConfigurationError(result);
        Assert.Contains(ServerCertificateKey, result.StandardError, StringComparison.Ordinal);
        Assert.Contains(sandbox.ServerKey, result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongPkcs12Password_Exits2_NamingTheKeyAndTheFile()
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);
        var pfx = sandbox.Write("server.pfx", pki.ServerLeaf.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx, "right"));

        var result = await ServeAsync(sandbox, Config().WithServerCertificate(new JsonObject { ["Path"] = "server.pfx", ["Password"] = "wrong" }));

        AssertConfigurationError(result);
        Assert.Contains(ServerCertificateKey, result.StandardError, StringComparison.Ordinal);
        Assert.Contains(pfx, result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoBrokenThings_Exit2_AndBothAreReportedTogether()
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);
        var garbageCa = sandbox.Write("garbage-ca.pem", "garbage\n");
        File.Delete(sandbox.ServerPem);

        var result = await ServeAsync(sandbox, Config().WithCaBundle("garbage-ca.pem"));

        AssertConfigurationError(result);
        Assert.Contains(CaBundleKey, result.StandardError, StringComparison.Ordinal);
        Assert.Contains(garbageCa, result.StandardError, StringComparison.Ordinal);
        Assert.Contains(ServerCertificateKey + ":Path", result.StandardError, StringComparison.Ordinal);
        Assert.Contains(sandbox.ServerPem, result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DenyStatus403_Exits2_ExplainingBitwardenAndAllowClientWipingStatus()
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);

        var result = await ServeAsync(sandbox, Config().WithDeny(new JsonObject { ["Status"] = 403 }));

        AssertConfigurationError(result);
        Assert.Contains("MtlsGate:Policies:Default:Deny:Status", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Bitwarden", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("AllowClientWipingStatus", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MisspeltIdentities_Exits2_NamingTheKeyAndTheNearestName_InsteadOfDroppingTheAllowList()
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);
        var config = Config();
        config.Gate()["Policies"]!["Default"]!["Identites"] = new JsonObject { ["SubjectCommonNames"] = new JsonArray("my-phone") };

        var result = await ServeAsync(sandbox, config);

        AssertConfigurationError(result);
        Assert.Contains("MtlsGate:Policies:Default:Identites: unknown key; did you mean 'Identities'?", result.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Require", "1")]
    [InlineData("Mode", "1")]
    [InlineData("Require", "0x1")]
    public async Task ANumberWhereAPolicyEnumNameBelongs_Exits2_NamingTheKey(string key, string number)
    {
        using var pki = TestPki.Create();
        using var sandbox = Sandbox.Create(pki);
        var config = Config();
        config.Gate()["Policies"]!["Default"]![key] = number;

        var result = await ServeAsync(sandbox, config);

        AssertConfigurationError(result);
        Assert.Contains($"MtlsGate:Policies:Default:{key}: '{number}' is not one of ", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("names only", result.StandardError, StringComparison.Ordinal);
    }
}
