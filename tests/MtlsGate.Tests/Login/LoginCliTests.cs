using System.Text.Json.Nodes;
using MtlsGate.Tests.Configuration;

namespace MtlsGate.Tests.Login;

/// <summary><c>check</c> and <c>verify</c> show CertificateOrLogin policies (the same compile as the server).</summary>
public sealed class LoginCliTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string WriteConfig(bool keepSecretFile = false)
    {
        var config = LoginGateway.ReadmePreset();
        var base_ = ConfigFiles.Minimal()["MtlsGate"]!.AsObject();
        var gate = config["MtlsGate"]!.AsObject();
        foreach (var key in new[] { "Listen", "ServerCertificate", "TrustStores" })
        {
            gate[key] = base_[key]!.DeepClone();
        }

        gate["StateDirectory"] = "state";
        if (!keepSecretFile)
        {
            gate["Login"]!["Oidc"]!.AsObject().Remove("ClientSecretFile");
        }

        var file = Path.Combine(_files.Folder, "gateway.json");
        File.WriteAllText(file, config.ToJsonString());
        return file;
    }

    [Fact]
    public async Task Check_prints_the_login_and_the_CertificateOrLogin_policies()
    {
        var (exitCode, output, error) = await ProcessRunner.GateAsync("check", "--config", WriteConfig());

        Assert.True(exitCode == 0, error);
        Assert.Matches(@"(?m)^vw\s+\{\*\*catch-all\}\s+Default\*\s+CertificateOrLogin\s", output);
        Assert.Matches(@"(?m)^vw-config\s+/api/config\s+Public\s+None\s", output);
        Assert.Contains("Login: OpenID Connect https://auth.example.com/ (client mtlsgate", output, StringComparison.Ordinal);
        Assert.Contains("register the redirect URI https://HOST/.mtlsgate/oidc/callback", output, StringComparison.Ordinal);
        Assert.Contains("CertificateOrLogin policies: Default;", output, StringComparison.Ordinal);
        Assert.Contains("Bitwarden apps on", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_says_that_a_login_session_also_passes_a_CertificateOrLogin_policy_and_needs_no_client_secret()
    {
        var cert = Path.Combine(_files.Folder, "expired.pem");
        File.WriteAllText(cert, MtlsGate.Tls.Pki.CertificatePem(TestPki.Instance.Expired));

        var (exitCode, output, _) = await ProcessRunner.GateAsync("verify", cert, "--config", WriteConfig(keepSecretFile: true));

        Assert.Equal(1, exitCode);
        Assert.Contains("require CertificateOrLogin", output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^login\s+CertificateOrLogin: a request without this certificate passes with a valid login session", output);
    }
}
