using System.Diagnostics;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Tools;

/// <summary>nghttp (nghttp2-client), a second HTTP/2 implementation, against the gateway.</summary>
public sealed class NghttpTests
{
    private static async Task<string> NghttpAsync(string folder, params string[] args)
    {
        var start = new ProcessStartInfo(Tool.Require("nghttp")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-v", "--cert", Path.Combine(folder, "client.pem"), "--key", Path.Combine(folder, "client.key") }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return await output + await error;
    }

    [SkippableFact]
    public async Task Nghttp_Http2_EachHostJudgesTheCertificateWithItsOwnTrustStore()
    {
        var folder = Directory.CreateTempSubdirectory("mtlsgate-nghttp-").FullName;
        try
        {
            TwoHosts.WritePem(folder, "client", TestPki.Instance.Good);
            await using var gateway = await TwoHosts.StartAsync(folder);
            var url = $"https://localhost:{gateway.GatewayUri.Port}";

            // nghttp sends the :authority override as SNI too, so each request opens a connection for that host.
            var plain = await NghttpAsync(folder, url + "/plain");
            var onA = await NghttpAsync(folder, "-H", $":authority: a.test:{gateway.GatewayUri.Port}", url + "/on-a");
            var onB = await NghttpAsync(folder, "-H", $":authority: b.test:{gateway.GatewayUri.Port}", url + "/on-b");

            Assert.Contains("The negotiated protocol: h2", plain, StringComparison.Ordinal);
            Assert.True(plain.Contains(":status: 200", StringComparison.Ordinal), plain);
            Assert.True(onA.Contains(":status: 200", StringComparison.Ordinal), onA);
            Assert.True(onB.Contains(":status: 404", StringComparison.Ordinal), onB); // b.test trusts only the other root
            Assert.Single(gateway.Backend.Requests, r => r.Path == "/on-a");
            Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/on-b");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
