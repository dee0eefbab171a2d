using System.Xml.Linq;
using MtlsGate.Tests.BlackBox;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Tools;

/// <summary>
/// sslscan (Debian package <c>sslscan</c>) probes the real gateway listener: protocol versions,
/// every cipher suite it accepts, renegotiation and compression.
/// </summary>
public sealed class SslscanTests(ITestOutputHelper output)
{
    private static readonly string[] WeakCipherMarkers = ["NULL", "EXP", "RC4", "DES", "ADH", "AECDH", "MD5", "anon"];

    [SkippableFact]
    public async Task Sslscan_finds_only_TLS_1_2_and_1_3_with_strong_AEAD_ciphers_no_insecure_renegotiation_and_no_compression()
    {
        var sslscan = Tool.Require("sslscan");
        await using var gateway = await TestGateway.StartAsync();

        var result = await ProcessRunner.RunAsync(sslscan,
            ["--no-colour", "--xml=-", "--no-heartbleed", "--sni-name=localhost", $"127.0.0.1:{gateway.GatewayUri.Port}"],
            TimeSpan.FromSeconds(90));
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut, "sslscan timed out");
        Assert.Equal(0, result.ExitCode);

        var xml = result.StandardOutput;
        var document = XDocument.Parse(xml[xml.IndexOf("<?xml", StringComparison.Ordinal)..]);
        var test = document.Descendants("ssltest").Single();

        var protocols = test.Elements("protocol").ToDictionary(
            p => $"{p.Attribute("type")!.Value}{p.Attribute("version")!.Value}",
            p => p.Attribute("enabled")!.Value == "1");
        Assert.False(protocols["ssl2"], "SSLv2 enabled");
        Assert.False(protocols["ssl3"], "SSLv3 enabled");
        Assert.False(protocols["tls1.0"], "TLSv1.0 enabled");
        Assert.False(protocols["tls1.1"], "TLSv1.1 enabled");
        Assert.True(protocols["tls1.2"], "TLSv1.2 disabled");
        Assert.True(protocols["tls1.3"], "TLSv1.3 disabled");

        var ciphers = test.Elements("cipher")
            .Select(c => (Version: c.Attribute("sslversion")!.Value, Name: c.Attribute("cipher")!.Value))
            .ToList();
        Assert.NotEmpty(ciphers);
        Assert.Contains(ciphers, c => c.Version == "TLSv1.2");
        Assert.Contains(ciphers, c => c.Version == "TLSv1.3");
        Assert.All(ciphers, c => Assert.True(c.Version is "TLSv1.2" or "TLSv1.3", $"{c.Name} accepted over {c.Version}"));
        Assert.All(ciphers, c => Assert.DoesNotContain(WeakCipherMarkers, m => c.Name.Contains(m, StringComparison.OrdinalIgnoreCase)));
        // In TLS 1.2 only AEAD suites (GCM / ChaCha20-Poly1305): no CBC (OpenSSL names CBC suites without "CBC", e.g. ECDHE-RSA-AES128-SHA256).
        Assert.All(ciphers.Where(c => c.Version == "TLSv1.2"), c => Assert.True(
            c.Name.Contains("GCM", StringComparison.Ordinal) || c.Name.Contains("CHACHA20-POLY1305", StringComparison.Ordinal),
            $"non-AEAD (CBC) TLS 1.2 cipher {c.Name}"));

        // Renegotiation: either not supported at all, or only the secure (RFC 5746) kind.
        var renegotiation = test.Element("renegotiation");
        Assert.NotNull(renegotiation);
        Assert.True(renegotiation.Attribute("supported")!.Value == "0" || renegotiation.Attribute("secure")!.Value == "1",
            $"insecure renegotiation: {renegotiation}");

        // Debian's sslscan is built without zlib and cannot probe TLS compression (it then writes no
        // <compression> element); Security/TlsRenegotiationTests checks it with openssl s_client -comp.
        if (test.Element("compression") is { } compression)
        {
            Assert.Equal("0", compression.Attribute("supported")!.Value);
        }
        else
        {
            output.WriteLine("sslscan cannot test compression (built without zlib); covered by TlsRenegotiationTests.");
        }
    }
}
