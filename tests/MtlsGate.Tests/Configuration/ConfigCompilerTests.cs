using Microsoft.Extensions.Configuration;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Configuration;

public sealed class ConfigCompilerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-config-").FullName;

    public ConfigCompilerTests()
    {
        var pki = TestPki.Instance;
        File.WriteAllText(Path.Combine(_folder, "ca.pem"), pki.CaBundlePem);
        File.WriteAllText(Path.Combine(_folder, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.ServerLeaf));
        File.WriteAllText(Path.Combine(_folder, "server.key"), MtlsGate.Tls.Pki.KeyPem(pki.ServerLeaf));
        File.WriteAllText(Path.Combine(_folder, "other.key"), MtlsGate.Tls.Pki.KeyPem(pki.Good));
        File.WriteAllText(Path.Combine(_folder, "garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        File.WriteAllText(Path.Combine(_folder, "leaf-only.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.Good));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private (GatewaySnapshot? Snapshot, IReadOnlyList<string> Errors) Compile(params (string Key, string? Value)[] overrides)
    {
        var values = new Dictionary<string, string?>
        {
            ["MtlsGate:Listen:Gateway"] = "https://127.0.0.1:0",
            ["MtlsGate:Listen:Management"] = "http://127.0.0.1:0",
            ["MtlsGate:ServerCertificate:Path"] = "server.pem",
            ["MtlsGate:ServerCertificate:KeyPath"] = "server.key",
            ["MtlsGate:TrustStores:Default:CaBundle"] = "ca.pem",
            ["MtlsGate:StateDirectory"] = "state",
            ["ReverseProxy:Routes:app:ClusterId"] = "app",
            ["ReverseProxy:Routes:app:Match:Path"] = "{**catch-all}",
            ["ReverseProxy:Clusters:app:Destinations:d1:Address"] = "http://127.0.0.1:8080",
        };
        foreach (var (key, value) in overrides)
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        return ConfigCompiler.Compile(configuration, _folder);
    }

    [Fact]
    public void Compile_TheDefaults_GivesAFailClosedDefaultPolicy()
    {
        var (snapshot, errors) = Compile();

        Assert.Empty(errors);
        var policy = snapshot!.DefaultPolicy;
        Assert.Equal(Requirement.Certificate, policy.Require);
        Assert.Equal(EnforcementMode.Enforce, policy.Mode);
        Assert.Same(DenySettings.NotFound, snapshot.DenialsFor(policy).Deny);
        Assert.Same(policy, snapshot.PolicyFor(null));
        Assert.Equal(ConfigCompiler.DefaultMaxRequestBodySize, snapshot.Limits.MaxRequestBodySize);
        Assert.True(snapshot.Limits.MaxRequestBodySize >= 525L * 1024 * 1024);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(407)]
    public void Compile_ClientWipingStatus_IsRefusedWithTheReason_UnlessExplicitlyAllowed(int status)
    {
        var (refused, errors) = Compile(("MtlsGate:Policies:Default:Deny:Status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var (allowed, _) = Compile(
            ("MtlsGate:Policies:Default:Deny:Status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("MtlsGate:Policies:Default:Deny:AllowClientWipingStatus", "true"));

        Assert.Null(refused);
        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:Policies:Default:Deny:Status:", error, StringComparison.Ordinal);
        Assert.Contains("Bitwarden", error, StringComparison.Ordinal);
        Assert.Contains("AllowClientWipingStatus", error, StringComparison.Ordinal);
        Assert.Equal(status, allowed!.DenialsFor(allowed.DefaultPolicy).Deny.Status);
    }

    [Fact]
    public void Compile_ClientWipingStatusInDenyByReason_IsRefusedToo()
    {
        var (_, errors) = Compile(("MtlsGate:Policies:Default:DenyByReason:Expired:Status", "403"));

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Policies:Default:DenyByReason:Expired:Status:", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_SeveralBrokenThings_ReportsEveryErrorWithItsKeyAndFile()
    {
        var (snapshot, errors) = Compile(
            ("MtlsGate:TrustStores:Default:CaBundle", "missing-ca.pem"),
            ("MtlsGate:ServerCertificate:KeyPath", "other.key"),
            ("MtlsGate:Listen:Gateway", "http://127.0.0.1:8443"),
            ("MtlsGate:Policies:Default:Deny:Action", "Explode"),
            ("MtlsGate:Policies:Default:TrustStore", "Nope"),
            ("ReverseProxy:Clusters:app:Destinations:d1:Address", "not a url"),
            ("ReverseProxy:Routes:app:Metadata:MtlsGate.Policy", "Typo"));

        Assert.Null(snapshot);
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:TrustStores:Default:CaBundle:", StringComparison.Ordinal) && e.Contains(Path.Combine(_folder, "missing-ca.pem"), StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:ServerCertificate:", StringComparison.Ordinal) && e.Contains("other.key", StringComparison.Ordinal) && e.Contains("server.pem", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Listen:Gateway:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Policies:Default:Deny:Action:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Policies:Default:TrustStore:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Clusters:app:Destinations:d1:Address:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Routes:app:Metadata:MtlsGate.Policy:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("garbage.pem", "holds no PEM certificate")]
    [InlineData("leaf-only.pem", "not a CA certificate")]
    [InlineData("server.key", "holds no PEM certificate")]
    public void Compile_UnusableCaBundle_NamesTheKeyAndTheFile(string file, string why)
    {
        var (_, errors) = Compile(("MtlsGate:TrustStores:Default:CaBundle", file));

        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:TrustStores:Default:CaBundle:", error, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_folder, file), error, StringComparison.Ordinal);
        if (file != "garbage.pem")
        {
            Assert.Contains(why, error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Compile_MissingServerCertificateFile_NamesKeyAndFile()
    {
        var (_, errors) = Compile(("MtlsGate:ServerCertificate:Path", "nope.pem"));

        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:ServerCertificate:Path:", error, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_folder, "nope.pem"), error, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_ServerChainInOnePemFile_SendsTheIntermediates()
    {
        var pki = TestPki.Instance;
        var leaf = MtlsGate.Tls.Pki.Issue(pki.Intermediate, "CN=localhost", new MtlsGate.Tls.IssueOptions { ExtendedKeyUsages = [MtlsGate.Tls.Pki.ServerAuthOid] });
        File.WriteAllText(Path.Combine(_folder, "chain.pem"), MtlsGate.Tls.Pki.CertificatePem(leaf) + MtlsGate.Tls.Pki.CertificatePem(pki.Intermediate));
        File.WriteAllText(Path.Combine(_folder, "chain.key"), MtlsGate.Tls.Pki.KeyPem(leaf));

        var (snapshot, errors) = Compile(("MtlsGate:ServerCertificate:Path", "chain.pem"), ("MtlsGate:ServerCertificate:KeyPath", "chain.key"));

        Assert.Empty(errors);
        Assert.Equal(leaf.Thumbprint, snapshot!.ServerCertificate!.Leaf.Thumbprint);
        Assert.Contains(snapshot.ServerCertificate.Context.IntermediateCertificates, c => c.Thumbprint == pki.Intermediate.Thumbprint);
    }

    [Fact]
    public void Compile_Pkcs12ServerCertificateWithPassword_Loads_AndAWrongPasswordIsAnError()
    {
        var pki = TestPki.Instance;
        File.WriteAllBytes(Path.Combine(_folder, "server.pfx"), pki.ServerLeaf.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12, "s3cret"));

        var (ok, _) = Compile(("MtlsGate:ServerCertificate:Path", "server.pfx"), ("MtlsGate:ServerCertificate:KeyPath", null), ("MtlsGate:ServerCertificate:Password", "s3cret"));
        var (bad, errors) = Compile(("MtlsGate:ServerCertificate:Path", "server.pfx"), ("MtlsGate:ServerCertificate:KeyPath", null), ("MtlsGate:ServerCertificate:Password", "Zq9-never-printed"));

        Assert.NotNull(ok);
        Assert.Null(bad);
        Assert.Contains(errors, e => e.StartsWith("MtlsGate:ServerCertificate:", StringComparison.Ordinal) && e.Contains("server.pfx", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("Zq9-never-printed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("MtlsGate:Policies:Default:Deny:Headers:Bad Name", "x")]
    [InlineData("MtlsGate:Policies:Default:Deny:Headers:Content-Length", "5")]
    [InlineData("MtlsGate:Policies:Default:DenyByReason:Sunspots:Status", "404")]
    [InlineData("MtlsGate:Policies:Default:Require", "Maybe")]
    [InlineData("MtlsGate:Policies:Default:Mode", "Sometimes")]
    [InlineData("MtlsGate:Policies:Default:Deny:Status", "99")]
    [InlineData("MtlsGate:Forwarding:IdentityHeaders", "Carrier-Pigeon")]
    [InlineData("MtlsGate:Listen:Management", "ftp://127.0.0.1:8081")]
    [InlineData("MtlsGate:Enrollment:PublicUrl", "http://vault.example.com")]
    [InlineData("MtlsGate:Enrollment:PublicUrl", "https://vault.example.com/enrol")]
    [InlineData("MtlsGate:Listen:Gateway", "https://gateway.example.com:8443")]
    [InlineData("MtlsGate:Limits:MaxRequestBodySize", "0")]
    public void Compile_BadValue_IsAnErrorNamingItsKey(string key, string value)
    {
        var (snapshot, errors) = Compile((key, value));

        Assert.Null(snapshot);
        var prefix = string.Join(':', key.Split(':').Take(key.StartsWith("MtlsGate:Policies:Default:Deny:Headers", StringComparison.Ordinal) ? 5 : 4));
        Assert.Contains(errors, e => e.StartsWith(prefix, StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_HeaderValueWithCrLf_IsRefused()
    {
        var (_, errors) = Compile(("MtlsGate:Policies:Default:Deny:Headers:X-Note", "a\r\nSet-Cookie: x=1"));

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Policies:Default:Deny:Headers:X-Note:", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_GatewayAsAnArrayOfUrls_ListensOnEach()
    {
        var (snapshot, errors) = Compile(
            ("MtlsGate:Listen:Gateway", null),
            ("MtlsGate:Listen:Gateway:0", "https://127.0.0.1:0"),
            ("MtlsGate:Listen:Gateway:1", "https://[::1]:0"));

        Assert.Empty(errors);
        Assert.Equal(2, snapshot!.GatewayEndpoints.Count);
    }

    [Fact]
    public void ResolvePath_RelativePath_IsAgainstTheConfigurationDirectory()
    {
        Assert.Equal(Path.Combine(_folder, "certs", "ca.pem"), ConfigCompiler.ResolvePath(_folder, "certs/ca.pem"));
        Assert.Equal("/etc/mtlsgate/ca.pem", ConfigCompiler.ResolvePath(_folder, "/etc/mtlsgate/ca.pem"));
    }
}
