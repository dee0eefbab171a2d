using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// TLS session resumption must never grant more than a full handshake would: a resumed session
/// carries the first handshake's client certificate, which the gateway has to re-judge against the
/// trust material of now (CRLs reloaded since) and of the host the new connection is for.
/// </summary>
public sealed class TlsSessionResumptionTests(ITestOutputHelper output)
{
    private static TestPki Pki => TestPki.Instance;

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_resumed_session_keeps_working_while_the_certificate_is_good_and_is_refused_once_it_is_revoked(string version)
    {
        using var files = new SClientFiles();
        var crl = Path.Combine(files.Folder, "root.crl");
        File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [], number: 1));
        await using var gateway = await TestGateway.StartAsync(config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray(crl);
        });
        var port = gateway.GatewayUri.Port;
        var session = files.Path("session.pem");
        var cert = files.CertArguments("good", Pki.Good);

        var first = await SClient.RunAsync(port, files.CaFile, [version, "-servername", "localhost", .. cert, "-sess_out", session], SClient.Request("/first"));
        output.WriteLine("first: " + SClient.Describe(first));
        Assert.Equal(200, SClient.Status(first));
        if (!OfferedSession(first, session))
        {
            // Observed for TLS 1.2: no Session-ID and no ticket, so nothing can be resumed; the
            // revocation must still hold for the full handshake.
            await AssertRevocationHoldsAsync(gateway, files, crl, [[version, "-servername", "localhost", .. cert]]);
            return;
        }

        var resumedWithCert = await SClient.RunAsync(port, files.CaFile, [version, "-servername", "localhost", .. cert, "-sess_in", session], SClient.Request("/resumed"));
        output.WriteLine("resumed with the certificate: " + SClient.Describe(resumedWithCert));
        Assert.Equal(200, SClient.Status(resumedWithCert));

        var resumedWithoutCert = await SClient.RunAsync(port, files.CaFile, [version, "-servername", "localhost", "-sess_in", session], SClient.Request("/resumed-no-cert"));
        output.WriteLine("resumed without presenting the certificate: " + SClient.Describe(resumedWithoutCert));
        if (SClient.Resumption(resumedWithoutCert) == "Reused")
        {
            // The session proves the Good certificate, so a 200 here is what a full handshake would give.
            Assert.Equal(200, SClient.Status(resumedWithoutCert));
        }
        else
        {
            // A full handshake without a certificate: the policy's denial.
            Assert.Equal(404, SClient.Status(resumedWithoutCert));
        }

        await AssertRevocationHoldsAsync(gateway, files, crl,
        [
            [version, "-servername", "localhost", "-sess_in", session],
            [version, "-servername", "localhost", .. cert, "-sess_in", session],
            [version, "-servername", "localhost", .. cert],
        ]);
    }

    /// <summary>Revokes Good (CRL reload) and asserts none of the connections gets anything but the denial.</summary>
    private async Task AssertRevocationHoldsAsync(TestGateway gateway, SClientFiles files, string crl, string[][] attempts)
    {
        Assert.True(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(crl, TestPki.Crl(Pki.Root, [Pki.Good], number: 2))));
        foreach (var arguments in attempts)
        {
            var result = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, arguments, SClient.Request("/after-revocation"));
            var label = "after revocation, " + string.Join(' ', arguments.Select(a => a.StartsWith('/') ? Path.GetFileName(a) : a));
            output.WriteLine(label + ": " + SClient.Describe(result));
            Assert.True(SClient.Status(result) is null or 404, label + ": " + SClient.Describe(result));
        }

        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after-revocation");
    }

    /// <summary>
    /// Whether the server gave the client anything to resume. When not, asserts the output shows why
    /// (empty Session-ID and no ticket) so the test documents the behaviour rather than skipping.
    /// </summary>
    private bool OfferedSession(ProcessResult result, string sessionFile)
    {
        if (File.Exists(sessionFile))
        {
            return true;
        }

        Assert.Matches(@"Session-ID: *\r?\n", result.StandardOutput);
        Assert.DoesNotContain("TLS session ticket:", result.StandardOutput, StringComparison.Ordinal);
        output.WriteLine("The server offered no session to resume (empty Session-ID, no ticket): every connection is a full handshake.");
        return false;
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_session_established_for_host_A_does_not_unlock_host_B_which_trusts_another_CA(string version)
    {
        using var files = new SClientFiles();
        await using var gateway = await TwoHosts.StartAsync(files.Folder);
        var port = gateway.GatewayUri.Port;
        var session = files.Path("a-session.pem");
        var cert = files.CertArguments("good", Pki.Good);

        var onA = await SClient.RunAsync(port, files.CaFile, [version, "-servername", "a.test", .. cert, "-sess_out", session], SClient.Request("/on-a", "a.test"));
        output.WriteLine("a.test: " + SClient.Describe(onA));
        Assert.Equal(200, SClient.Status(onA));
        if (!OfferedSession(onA, session))
        {
            var full = await SClient.RunAsync(port, files.CaFile, [version, "-servername", "b.test", .. cert], SClient.Request("/on-b", "b.test"));
            output.WriteLine("b.test, full handshake with A's certificate: " + SClient.Describe(full));
            Assert.NotEqual(200, SClient.Status(full));
            Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/on-b");
            return;
        }

        foreach (var (label, arguments) in new (string, string[])[]
        {
            ("A's session offered to b.test without certificate", [version, "-servername", "b.test", "-sess_in", session]),
            ("A's session offered to b.test with A's certificate", [version, "-servername", "b.test", .. cert, "-sess_in", session]),
        })
        {
            var result = await SClient.RunAsync(port, files.CaFile, arguments, SClient.Request("/on-b", "b.test"));
            output.WriteLine(label + ": " + SClient.Describe(result));
            Assert.NotEqual(200, SClient.Status(result));
        }

        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/on-b");
    }
}
