using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// TLS session resumption is on (no CipherSuitesPolicy: the cipher list comes from
/// openssl-mtlsgate.cnf) and must never grant more than a full handshake would: a resumed session
/// carries the first handshake's client certificate, which the gateway judges again against the
/// trust material of now and of the host the new connection is for; a session belongs to one host.
/// Every resumption asserted here is checked to have happened (<c>Reused</c> in s_client's summary).
/// </summary>
public sealed class TlsSessionResumptionTests(ITestOutputHelper output)
{
    private static TestPki Pki => TestPki.Instance;

    /// <summary>TLS 1.2 suites .NET's own default list has and openssl-mtlsgate.cnf leaves out (ECDHE with CBC and SHA-2).</summary>
    private const string CbcSuites = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA";

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_resumed_session_keeps_working_while_the_certificate_is_good_and_is_refused_once_it_is_revoked(string version)
    {
        Tool.Require("openssl");
        using var files = new SClientFiles();
        var crl = Path.Combine(files.Folder, "root.crl");
        File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [], number: 1));
        await using var gateway = await StartAsync(files, config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray(crl);
        });
        var session = files.Path("session.pem");
        var cert = files.CertArguments("good", Pki.Good);

        await FirstAsync(gateway, files, [version, "-servername", "localhost", .. cert, "-sess_out", session], 200);
        await ResumedAsync(gateway, files, "resumed presenting the certificate again", [version, "-servername", "localhost", .. cert, "-sess_in", session], 200, "/resumed");
        // A resuming client sends no Certificate message (RFC 8446 §2.2, RFC 5246 §7.3): the session proves Good.
        await ResumedAsync(gateway, files, "resumed without presenting it", [version, "-servername", "localhost", "-sess_in", session], 200, "/resumed-no-cert");

        Assert.True(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [Pki.Good], number: 2))));
        foreach (var arguments in new[]
        {
            new[] { version, "-servername", "localhost", "-sess_in", session },
            [version, "-servername", "localhost", .. cert, "-sess_in", session],
            [version, "-servername", "localhost", .. cert],
        })
        {
            var result = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, arguments, SClient.Request("/after-revocation"));
            output.WriteLine("after revocation, " + Label(arguments) + ": " + SClient.Describe(result));
            Assert.True(SClient.Status(result) is null or 404, SClient.Describe(result));
        }

        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after-revocation");
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_resumed_session_is_refused_once_the_certificate_has_expired_since_the_first_handshake(string version)
    {
        Tool.Require("openssl");
        using var files = new SClientFiles();
        var clock = ManualClock.StartingNow();
        var shortLived = MtlsGate.Tls.Pki.Issue(Pki.Root, "CN=short-lived", new IssueOptions { NotBefore = clock.GetUtcNow().AddMinutes(-5), NotAfter = clock.GetUtcNow().AddHours(1) });
        await using var gateway = await StartAsync(files, services: services => services.AddSingleton<TimeProvider>(clock));
        var session = files.Path("session.pem");
        var cert = files.CertArguments("short", shortLived);

        await FirstAsync(gateway, files, [version, "-servername", "localhost", .. cert, "-sess_out", session], 200);
        await ResumedAsync(gateway, files, "resumed within the validity", [version, "-servername", "localhost", "-sess_in", session], 200, "/resumed");

        clock.Advance(TimeSpan.FromHours(2));
        await ResumedAsync(gateway, files, "resumed after notAfter", [version, "-servername", "localhost", "-sess_in", session], 404, "/after-expiry");
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after-expiry");
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_session_made_without_a_certificate_stays_NoCertificate_when_resumed_even_by_a_client_holding_one(string version)
    {
        Tool.Require("openssl");
        using var files = new SClientFiles();
        await using var gateway = await StartAsync(files);
        var session = files.Path("session.pem");
        var cert = files.CertArguments("good", Pki.Good);

        await FirstAsync(gateway, files, [version, "-servername", "localhost", "-sess_out", session], 404);
        // A resumption has no Certificate message, so the certificate offered now is never seen: the session's "none" holds.
        await ResumedAsync(gateway, files, "resumed presenting a good certificate", [version, "-servername", "localhost", .. cert, "-sess_in", session], 404, "/resumed");
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/resumed");
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_resumed_session_of_a_certificate_from_an_intermediate_the_store_lacks_keeps_the_intermediate_its_client_sent(string version)
    {
        Tool.Require("openssl");
        using var files = new SClientFiles();
        await using var gateway = await StartAsync(files);
        var session = files.Path("session.pem");
        var cert = files.CertArguments("via-unknown", Pki.ViaUnknownIntermediate);
        File.WriteAllText(files.Path("intermediate.pem"), MtlsGate.Tls.Pki.CertificatePem(Pki.UnknownIntermediate));

        await FirstAsync(gateway, files, [version, "-servername", "localhost", .. cert, "-cert_chain", files.Path("intermediate.pem"), "-sess_out", session], 200);
        // The session ticket holds the leaf only; the gateway remembers the intermediate of the full handshake.
        await ResumedAsync(gateway, files, "resumed, no chain sent", [version, "-servername", "localhost", "-sess_in", session], 200, "/resumed");
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_session_survives_a_reload_that_leaves_the_trust_material_as_it_was(string version)
    {
        Tool.Require("openssl");
        using var files = new SClientFiles();
        await using var gateway = await StartAsync(files, TestGateway.FastReload);
        var session = files.Path("session.pem");
        var cert = files.CertArguments("good", Pki.Good);

        await FirstAsync(gateway, files, [version, "-servername", "localhost", .. cert, "-sess_out", session], 200);
        await gateway.RewriteConfigAsync(config => config["MtlsGate"]!["Limits"] = new JsonObject { ["MaxConnectionLifetime"] = "01:00:00" });
        await ResumedAsync(gateway, files, "resumed after the reload", [version, "-servername", "localhost", "-sess_in", session], 200, "/after-reload");
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_session_established_for_host_A_does_not_resume_on_host_B_which_has_its_own_certificate_and_CA(string version)
    {
        Tool.Require("openssl");
        using var files = new SClientFiles();
        await using var gateway = await TwoHosts.StartAsync(files.Folder);
        var port = gateway.GatewayUri.Port;
        var session = files.Path("a-session.pem");
        var cert = files.CertArguments("good", Pki.Good);

        await FirstAsync(gateway, files, [version, "-servername", "a.test", .. cert, "-sess_out", session], 200, "a.test");
        await ResumedAsync(gateway, files, "a.test's session on a.test", [version, "-servername", "a.test", "-sess_in", session], 200, "/on-a", "a.test");

        foreach (var (label, arguments) in new (string, string[])[]
        {
            ("A's session offered to b.test without certificate", [version, "-servername", "b.test", "-sess_in", session]),
            ("A's session offered to b.test with A's certificate", [version, "-servername", "b.test", .. cert, "-sess_in", session]),
        })
        {
            var result = await SClient.RunAsync(port, files.CaFile, arguments, SClient.Request("/on-b", "b.test"));
            output.WriteLine(label + ": " + SClient.Describe(result));
            Assert.NotEqual("Reused", SClient.Resumption(result));
            Assert.NotEqual(200, SClient.Status(result));
        }

        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/on-b");
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_session_established_for_host_A_does_not_resume_on_host_C_sharing_its_certificate_and_CA(string version)
    {
        Tool.Require("openssl");
        using var files = new SClientFiles();
        // One certificate for both names (a SAN certificate), both hosts trusting the test root: OpenSSL
        // would resume A's session on C (one SSL_CTX per certificate), so only A (first by name) resumes.
        TwoHosts.WritePem(files.Folder, "shared", MtlsGate.Tls.Pki.Issue(Pki.Root, "CN=shared", new IssueOptions { ExtendedKeyUsages = [MtlsGate.Tls.Pki.ServerAuthOid], DnsNames = ["a.test", "c.test"] }));
        var shared = new JsonObject { ["Path"] = files.Path("shared.pem"), ["KeyPath"] = files.Path("shared.key") };
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            config["MtlsGate"]!["Hosts"] = new JsonObject
            {
                ["c.test"] = new JsonObject { ["ServerCertificate"] = shared.DeepClone() },
                ["a.test"] = new JsonObject { ["ServerCertificate"] = shared.DeepClone() },
            };
        });
        var port = gateway.GatewayUri.Port;
        var session = files.Path("a-session.pem");
        var cert = files.CertArguments("good", Pki.Good);

        await FirstAsync(gateway, files, [version, "-servername", "a.test", .. cert, "-sess_out", session], 200, "a.test");
        await ResumedAsync(gateway, files, "a.test's session on a.test", [version, "-servername", "a.test", "-sess_in", session], 200, "/on-a", "a.test");

        var withoutCert = await SClient.RunAsync(port, files.CaFile, [version, "-servername", "c.test", "-sess_in", session], SClient.Request("/on-c-without", "c.test"));
        output.WriteLine("A's session offered to c.test without certificate: " + SClient.Describe(withoutCert));
        Assert.Equal("New", SClient.Resumption(withoutCert));
        Assert.Equal(404, SClient.Status(withoutCert));
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/on-c-without");

        // The same certificate in a full handshake is what c.test trusts: that still works.
        var withCert = await SClient.RunAsync(port, files.CaFile, [version, "-servername", "c.test", .. cert, "-sess_in", session], SClient.Request("/on-c-full", "c.test"));
        output.WriteLine("A's session offered to c.test with the certificate: " + SClient.Describe(withCert));
        Assert.Equal("New", SClient.Resumption(withCert));
        Assert.Equal(200, SClient.Status(withCert));
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task Without_a_cipher_suites_policy_TLS_1_2_still_refuses_the_CBC_suites_at_the_handshake(string version)
    {
        Tool.Require("openssl");
        using var files = new SClientFiles();
        await using var gateway = await StartAsync(files);
        var cert = files.CertArguments("good", Pki.Good);

        if (version == "-tls1_2")
        {
            var cbc = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, ["-tls1_2", "-cipher", CbcSuites, "-servername", "localhost", .. cert], SClient.Request("/cbc"));
            output.WriteLine("TLS 1.2, CBC suites only: " + SClient.Describe(cbc));
            Assert.Null(SClient.Status(cbc));
            Assert.Contains("Cipher is (NONE)", cbc.StandardOutput, StringComparison.Ordinal);
            Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/cbc");
        }
        else
        {
            // TLS 1.3 has no CBC suites; its list is the three AEAD ones (TLS_AES_128_CCM_* are not enabled).
            var ccm = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256", "-servername", "localhost", .. cert], SClient.Request("/ccm"));
            output.WriteLine("TLS 1.3, CCM suites only: " + SClient.Describe(ccm));
            Assert.Null(SClient.Status(ccm));
        }

        var aead = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, [version, "-servername", "localhost", .. cert], SClient.Request("/aead"));
        Assert.Equal(200, SClient.Status(aead));
        Assert.Matches(@"Cipher is (ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)|TLS_(AES_\d+_GCM_SHA\d+|CHACHA20_POLY1305_SHA256))", aead.StandardOutput);
    }

    /// <summary>A gateway whose top-level certificate is its own (a certificate's sessions belong to the first host that claims it, process-wide).</summary>
    private static Task<TestGateway> StartAsync(SClientFiles files, Action<JsonObject>? configure = null, Action<IServiceCollection>? services = null)
    {
        var name = "server-" + Guid.NewGuid().ToString("N");
        TwoHosts.WritePem(files.Folder, name, MtlsGate.Tls.Pki.Issue(Pki.Root, "CN=localhost", new IssueOptions { ExtendedKeyUsages = [MtlsGate.Tls.Pki.ServerAuthOid], DnsNames = ["localhost"] }));
        return TestGateway.StartAsync(config =>
        {
            config["MtlsGate"]!["ServerCertificate"] = new JsonObject { ["Path"] = files.Path(name + ".pem"), ["KeyPath"] = files.Path(name + ".key") };
            configure?.Invoke(config);
        }, services);
    }

    /// <summary>The first, full handshake; asserts the server offered something to resume (a session id or a ticket).</summary>
    private async Task FirstAsync(TestGateway gateway, SClientFiles files, string[] arguments, int status, string host = "localhost")
    {
        var result = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, arguments, SClient.Request("/first", host));
        output.WriteLine("first, " + Label(arguments) + ": " + SClient.Describe(result));
        Assert.Equal("New", SClient.Resumption(result));
        Assert.Equal(status, SClient.Status(result));
        var sessionFile = arguments[Array.IndexOf(arguments, "-sess_out") + 1];
        Assert.True(File.Exists(sessionFile), "s_client wrote no session: " + SClient.Describe(result));
        Assert.Contains("TLS session ticket:", result.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>A resumption that must actually resume (s_client: "Reused") and get <paramref name="status"/>.</summary>
    private async Task ResumedAsync(TestGateway gateway, SClientFiles files, string label, string[] arguments, int status, string path, string host = "localhost")
    {
        var result = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, arguments, SClient.Request(path, host));
        output.WriteLine(label + ": " + SClient.Describe(result));
        Assert.Equal("Reused", SClient.Resumption(result));
        Assert.Equal(status, SClient.Status(result));
    }

    private static string Label(string[] arguments) => string.Join(' ', arguments.Select(a => a.StartsWith('/') ? Path.GetFileName(a) : a));
}
