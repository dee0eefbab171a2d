using System.Diagnostics;

using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Cli;

/// <summary>What the CLI writes, read by real outside tools: OpenSSL verifies the CRL, NSS imports the PKCS#12 files.</summary>
public sealed class PkiInteropTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-interop-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Ca => Path.Combine(_folder, "ca");

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] args)
    {
        var (exitCode, output, error) = await ProcessRunner.RunAsync(file, args);
        return (exitCode, output + error);
    }

    private static Task<ProcessResult> GateAsync(params string[] args) => ProcessRunner.GateAsync(args);

    [SkippableFact]
    public async Task RevocationList_AfterRevoke_VerifiesWithOpenSsl_AndListsTheSerial()
    {
        await GateAsync("init", Ca);
        await GateAsync("client", "issue", "phone", "--ca", Ca, "--password", "pw");
        await GateAsync("client", "revoke", "phone", "--ca", Ca);
        var serial = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Ca, "issued.json")))
            .RootElement.GetProperty("certificates")[0].GetProperty("serial").GetString()!;

        var verify = await RunAsync("openssl", "crl", "-in", Path.Combine(Ca, "ca.crl"), "-CAfile", Path.Combine(Ca, "ca.pem"), "-noout", "-verify");
        var text = await RunAsync("openssl", "crl", "-in", Path.Combine(Ca, "ca.crl"), "-noout", "-text");

        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("verify OK", verify.Output, StringComparison.Ordinal);
        Assert.Contains(serial, text.Output.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant(), StringComparison.Ordinal);
        Assert.Contains("X509v3 CRL Number", text.Output, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pkcs12_ImportsIntoAnNssDatabase_WithPk12util(bool compatible)
    {
        await GateAsync("init", Ca);
        string[] issue = ["client", "issue", "phone", "--ca", Ca, "--password", "s3cret pw"];
        await GateAsync(compatible ? [.. issue, "--compatible"] : issue);
        var nss = Path.Combine(_folder, "nssdb");
        Directory.CreateDirectory(nss);

        var create = await RunAsync("certutil", "-N", "-d", "sql:" + nss, "--empty-password");
        var import = await RunAsync("pk12util", "-i", Path.Combine(Ca, "clients", "phone.p12"), "-d", "sql:" + nss, "-W", "s3cret pw");
        var list = await RunAsync("certutil", "-L", "-d", "sql:" + nss);

        Assert.Equal(0, create.ExitCode);
        Assert.True(import.ExitCode == 0, import.Output);
        Assert.Contains("phone", list.Output, StringComparison.Ordinal);
        var legacy = await RunAsync("openssl", "pkcs12", "-info", "-noout", "-legacy", "-in", Path.Combine(Ca, "clients", "phone.p12"), "-passin", "pass:s3cret pw");
        if (compatible)
        {
            Assert.Equal(0, legacy.ExitCode);
        }
    }
}
