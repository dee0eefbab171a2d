using System.Text;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Host binding: b.test has its own trust store (only the other root) and policy. A client whose
/// certificate only the default trust store accepts must not reach b.test by spelling its name in a
/// way the gateway does not recognise but the backend (any DNS-aware virtual host) does.
/// </summary>
public sealed class HostBindingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("b.test")]
    [InlineData("B.TEST")]
    [InlineData("b.test:443")]
    [InlineData("b.test.")]
    [InlineData("B.Test.:443")]
    public async Task A_default_connection_cannot_reach_a_configured_host_under_any_spelling_of_its_name(string host)
    {
        using var files = new SClientFiles();
        await using var gateway = await TlsSessionResumptionTests.StartTwoHostsAsync(files.Folder);

        // SNI localhost (not a configured host): default trust store, where the Good certificate is valid.
        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, TestPki.Instance.Good,
            $"GET /host-probe HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
        output.WriteLine($"Host: {host} -> {response.Split("\r\n")[0]}; backend saw: "
            + string.Join(", ", gateway.Backend.Requests.Select(r => r.Path + " Host=" + r.Header("Host"))));

        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/host-probe");
        Assert.True(response.Length == 0 || response.StartsWith("HTTP/1.1 421", StringComparison.Ordinal) || response.StartsWith("HTTP/1.1 400", StringComparison.Ordinal),
            response.Split("\r\n")[0]);
    }
}
