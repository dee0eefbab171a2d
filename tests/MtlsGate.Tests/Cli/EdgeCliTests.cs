using System.Text.Json.Nodes;
using MtlsGate.Management;
using MtlsGate.Tests.Configuration;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Cli;

/// <summary><c>check</c>, <c>verify --forwarded</c> and <c>/readyz</c> explain edges (the real program for the verbs).</summary>
public sealed class EdgeCliTests : IDisposable
{
    private static readonly TestPki TestCertificates = TestPki.Instance;
    private readonly ConfigFiles _files = new();
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 _edge =
        Pki.Issue(TestPki.Instance.OtherRoot, "CN=origin-pull", new IssueOptions { NotAfter = DateTimeOffset.UtcNow.AddDays(10) });

    public EdgeCliTests()
    {
        File.WriteAllText(Path.Combine(_files.Folder, "origin-pull.pem"), Pki.CertificatePem(_edge));
        File.WriteAllText(Path.Combine(_files.Folder, "good.pem"), Pki.CertificatePem(TestCertificates.Good));
        File.WriteAllText(Path.Combine(_files.Folder, "foreign.pem"), Pki.CertificatePem(TestCertificates.OtherRootLeaf));
        var config = ConfigFiles.Minimal();
        config["MtlsGate"]!["StateDirectory"] = Path.Combine(_files.Folder, "state");
        config["MtlsGate"]!["Edges"] = JsonNode.Parse("""
            {
              "cdn": { "PinnedCertificateFiles": [ "origin-pull.pem" ], "Format": "Rfc9440" },
              "tunnel": { "Listen": "http://127.0.0.1:0", "Format": "Xfcc" }
            }
            """);
        File.WriteAllText(ConfigFile, config.ToJsonString());
    }

    private string ConfigFile => Path.Combine(_files.Folder, "gateway.json");

    public void Dispose()
    {
        _edge.Dispose();
        _files.Dispose();
    }

    [Fact]
    public async Task Verify_forwarded_judges_a_certificate_as_if_it_came_through_the_edge_and_exits_zero_one_or_two()
    {
        var good = await ProcessRunner.GateAsync("verify", Path.Combine(_files.Folder, "good.pem"), "--forwarded", "tunnel", "--config", ConfigFile);
        var foreign = await ProcessRunner.GateAsync("verify", Path.Combine(_files.Folder, "foreign.pem"), "--forwarded", "cdn", "--config", ConfigFile);
        var unknown = await ProcessRunner.GateAsync("verify", Path.Combine(_files.Folder, "good.pem"), "--forwarded", "nope", "--config", ConfigFile);

        Assert.Equal(0, good.ExitCode);
        Assert.Contains("source       edge tunnel: every connection to http://127.0.0.1:0", good.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("X-Forwarded-Client-Cert", good.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("decision     Allow", good.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, foreign.ExitCode);
        Assert.Contains("Untrusted", foreign.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("'nope' is not an edge of MtlsGate:Edges (cdn, tunnel)", unknown.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_lists_every_edge_its_sources_headers_and_the_pinned_certificates_expiry()
    {
        var check = await ProcessRunner.GateAsync("check", "--config", ConfigFile);

        Assert.Equal(0, check.ExitCode);
        Assert.Contains("Edge cdn: a TLS connection presenting one of 1 pinned certificate(s)", check.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("read from Client-Cert + Client-Cert-Chain (Rfc9440)", check.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"pinned CN=origin-pull sha256={TestPki.Fingerprint(_edge)}", check.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Edge tunnel: every connection to http://127.0.0.1:0 (loopback, plain HTTP)", check.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Any other connection: forwarded client-certificate headers are stripped and ignored", check.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Readyz_warns_when_a_known_pinned_edge_certificate_expires_within_30_days_and_fails_once_it_has()
    {
        var (snapshot, errors) = _files.Compile(JsonNode.Parse(File.ReadAllText(ConfigFile))!);
        Assert.Empty(errors);
        var now = DateTimeOffset.UtcNow;

        List<ReadinessItem> soonProblems = [], soonWarnings = [], laterProblems = [], laterWarnings = [], earlyProblems = [], earlyWarnings = [];
        EdgeReadiness.Evaluate(snapshot!, now, soonProblems, soonWarnings);
        EdgeReadiness.Evaluate(snapshot!, now.AddDays(11), laterProblems, laterWarnings);
        EdgeReadiness.Evaluate(snapshot!, now.AddDays(-30), earlyProblems, earlyWarnings);

        Assert.Empty(soonProblems);
        var warning = Assert.Single(soonWarnings);
        Assert.Equal("edge:cdn", warning.Check);
        Assert.Contains("(9 days left)", warning.Detail, StringComparison.Ordinal);
        Assert.Contains("expired", Assert.Single(laterProblems).Detail, StringComparison.Ordinal);
        Assert.Empty(earlyProblems);
        Assert.Empty(earlyWarnings);
    }
}
