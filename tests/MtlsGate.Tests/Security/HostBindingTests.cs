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
    [SkippableTheory]
    [InlineData("b.test")]
    [InlineData("B.TEST")]
    [InlineData("b.test:443")]
    [InlineData("b.test.")]
    [InlineData("B.Test.:443")]
    [InlineData("b.test..")]
    [InlineData("[::ffff:b.test]")]
    public async Task A_default_connection_cannot_reach_a_configured_host_under_any_spelling_of_its_name(string host)
    {
        using var files = new SClientFiles();
        await using var gateway = await TwoHosts.StartAsync(files.Folder);

        // SNI localhost (not a configured host): default trust store, where the Good certificate is valid.
        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, TestPki.Instance.Good,
            $"GET /host-probe HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
        output.WriteLine($"Host: {host} -> {response.Split("\r\n")[0]}; backend saw: "
            + string.Join(", ", gateway.Backend.Requests.Select(r => r.Path + " Host=" + r.Header("Host"))));

        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/host-probe");
        Assert.True(response.Length == 0 || response.StartsWith("HTTP/1.1 421", StringComparison.Ordinal) || response.StartsWith("HTTP/1.1 400", StringComparison.Ordinal),
            response.Split("\r\n")[0]);
    }

    [SkippableTheory]
    [InlineData("GET http://b.test/host-probe HTTP/1.0\r\n\r\n")]
    [InlineData("GET https://b.test./host-probe HTTP/1.1\r\nHost: b.test.\r\nConnection: close\r\n\r\n")]
    [InlineData("GET /host-probe HTTP/1.0\r\nHost: b.test.\r\n\r\n")]
    public async Task A_default_connection_cannot_reach_a_configured_host_through_HTTP_1_0_or_an_absolute_target(string request)
    {
        using var files = new SClientFiles();
        await using var gateway = await TwoHosts.StartAsync(files.Folder);

        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, TestPki.Instance.Good, request));
        output.WriteLine($"{request.Split("\r\n")[0]} -> {response.Split("\r\n")[0]}; backend saw: "
            + string.Join(", ", gateway.Backend.Requests.Select(r => r.Path + " Host=" + r.Header("Host"))));

        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Header("Host")?.StartsWith("b.test", StringComparison.OrdinalIgnoreCase) == true);
    }

    [SkippableFact]
    public async Task A_default_HTTP_2_connection_cannot_reach_a_configured_host_with_a_trailing_dot_authority()
    {
        using var files = new SClientFiles();
        await using var gateway = await TwoHosts.StartAsync(files.Folder);
        using var client = gateway.Client(TestPki.Instance.Good, System.Net.HttpVersion.Version20);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/host-probe-h2");
        request.Headers.Host = "b.test.";

        using var response = await client.SendAsync(request);
        output.WriteLine($":authority b.test. -> {(int)response.StatusCode}; backend saw: "
            + string.Join(", ", gateway.Backend.Requests.Select(r => r.Path + " Host=" + r.Header("Host"))));

        // HttpClient sends the Host header's name as SNI, so this connection is made for b.test (its
        // own trust store, which refuses Good: 404) rather than reused from a default one (421).
        // Either way it is refused and never routed.
        Assert.Contains(response.StatusCode, new[] { System.Net.HttpStatusCode.MisdirectedRequest, System.Net.HttpStatusCode.NotFound });
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/host-probe-h2");
    }
}
