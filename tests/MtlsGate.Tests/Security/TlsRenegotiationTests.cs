using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Client-initiated renegotiation (TLS 1.2) would let a client swap certificates mid-connection
/// (or burn server CPU); TLS compression enables CRIME. Both must be off.
/// </summary>
public sealed class TlsRenegotiationTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Client_initiated_renegotiation_is_refused_and_no_request_is_served_after_the_attempt()
    {
        using var files = new SClientFiles();
        await using var gateway = await TestGateway.StartAsync();
        var cert = files.CertArguments("good", TestPki.Instance.Good);

        // s_client without -ign_eof: a line "R" asks for a renegotiation; then a request on the same connection.
        var result = await SClient.InteractiveAsync(gateway.GatewayUri.Port, files.CaFile, ["-tls1_2", "-servername", "localhost", .. cert],
            ["R\n", SClient.Request("/after-renegotiation")], TimeSpan.FromSeconds(3));
        output.WriteLine(SClient.Describe(result));
        output.WriteLine(result.StandardError);

        Assert.False(result.TimedOut);
        Assert.Contains("RENEGOTIATING", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        // Observed: the gateway drops the connection on the renegotiation ClientHello (s_client: unexpected eof).
        Assert.NotEqual(0, result.ExitCode);
        // A completed renegotiation verifies the server certificate a second time: it must appear once.
        Assert.Equal(1, Count(result.StandardError, "depth=0 CN = localhost"));
        Assert.NotEqual(200, SClient.Status(result));
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after-renegotiation");
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task Tls_compression_is_never_negotiated(string version)
    {
        using var files = new SClientFiles();
        await using var gateway = await TestGateway.StartAsync();
        var cert = files.CertArguments("good", TestPki.Instance.Good);

        var result = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, [version, "-servername", "localhost", "-comp", .. cert], SClient.Request("/compression"));
        output.WriteLine(SClient.Describe(result));

        Assert.Equal(200, SClient.Status(result));
        Assert.Contains("Compression: NONE", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Expansion: NONE", result.StandardOutput, StringComparison.Ordinal);
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
