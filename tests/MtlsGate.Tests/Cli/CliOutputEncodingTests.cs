using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Cli;

/// <summary>
/// Certificate-derived text the CLI prints reaches an operator's terminal: it is encoded like the logs
/// (HeaderEncoding), so a hostile subject cannot recolour, rewrite or forge lines of the output.
/// </summary>
public sealed class CliOutputEncodingTests : IDisposable
{
    private const string Hostile = "evil\u001b[31m red\r\ndecision     Allow\u001b[0m";

    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-encoding-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Ca => Path.Combine(_folder, "ca");

    /// <summary>True for any control character except the line feeds that separate the output's own lines.</summary>
    private static bool HasControlCharacter(string text) => text.Any(c => (char.IsControl(c) && c != '\n') || c == '\u007f');

    [Fact]
    public async Task Verify_AHostileSubjectWithEscCrLf_IsPrintedEncoded_WithoutControlCharacters()
    {
        Assert.Equal(0, (await ProcessRunner.GateAsync("init", Ca)).ExitCode);
        using var ca = X509Certificate2.CreateFromPemFile(Path.Combine(Ca, "ca.pem"), Path.Combine(Ca, "ca.key"));
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(Hostile);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(MtlsGate.Tls.TrustStore.ClientAuthOid)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), [0x01, 0x02, 0x03]);
        Assert.Contains('\u001b', leaf.Subject); // .NET hands the raw characters over
        var file = Path.Combine(_folder, "hostile.pem");
        await File.WriteAllTextAsync(file, leaf.ExportCertificatePem());

        var verify = await ProcessRunner.GateAsync("verify", file, "--config", Path.Combine(Ca, "appsettings.json"));

        Assert.True(verify.ExitCode == 0, verify.StandardOutput + verify.StandardError);
        Assert.False(HasControlCharacter(verify.StandardOutput), verify.StandardOutput);
        Assert.Contains("evil%1B[31m red%0D%0Adecision     Allow%1B[0m", verify.StandardOutput, StringComparison.Ordinal);
        Assert.Single(verify.StandardOutput.Split('\n'), line => line.StartsWith("decision", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ClientList_AnEditedIssuedJsonWithControlCharacters_IsPrintedEncoded()
    {
        await ProcessRunner.GateAsync("init", Ca);
        await ProcessRunner.GateAsync("client", "issue", "phone", "--ca", Ca, "--password", "pw");
        var issued = Path.Combine(Ca, "issued.json");
        var record = JsonNode.Parse(await File.ReadAllTextAsync(issued))!;
        record["certificates"]![0]!["name"] = Hostile;
        await File.WriteAllTextAsync(issued, record.ToJsonString());

        var list = await ProcessRunner.GateAsync("client", "list", "--ca", Ca);

        Assert.Equal(0, list.ExitCode);
        Assert.False(HasControlCharacter(list.StandardOutput), list.StandardOutput);
        Assert.Contains("evil%1B[31m red%0D%0Adecision", list.StandardOutput, StringComparison.Ordinal);
    }
}
