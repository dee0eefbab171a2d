using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using MtlsGate.Cli;
using MtlsGate.Configuration;
using MtlsGate.Management;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Functional;

/// <summary>
/// Security case 28, management side: a page on another site whose name is re-pointed at 127.0.0.1
/// (DNS rebinding) must not read /metrics or /readyz through a local browser. The listener answers
/// only loopback names, IP literals and MtlsGate:Management:AllowedHosts.
/// </summary>
public sealed class ManagementHostTests(ITestOutputHelper output)
{
    private static readonly FrozenSet<string> Listed = new[] { "metrics.internal" }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("LOCALHOST:8081", true)]
    [InlineData("localhost.", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.1:8081", true)]
    [InlineData("127.1.2.3", true)]
    [InlineData("10.0.0.7:8081", true)]
    [InlineData("[::1]", true)]
    [InlineData("[::1]:8081", true)]
    [InlineData("metrics.internal", true)]
    [InlineData("Metrics.Internal.:9", true)]
    [InlineData("evil.example", false)]
    [InlineData("evil.example:8081", false)]
    [InlineData("localhost.evil.example", false)]
    [InlineData("metrics.internal.evil.example", false)]
    [InlineData("127.0.0.1.nip.io", false)]
    [InlineData("2130706433", false)]
    [InlineData("0x7f.0.0.1", false)]
    [InlineData("127.1", false)]
    [InlineData("256.0.0.1", false)]
    [InlineData("[localhost]", false)]
    [InlineData("", false)]
    public void IsAllowedHost_answers_loopback_names_IP_literals_and_listed_names_only(string host, bool allowed) =>
        Assert.Equal(allowed, ManagementEndpoints.IsAllowedHost(new HostString(host), Listed));

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/readyz")]
    [InlineData("/healthz")]
    public async Task A_foreign_Host_is_refused_with_an_empty_400_and_loopback_names_are_answered(string path)
    {
        await using var gateway = await TestGateway.StartAsync();
        var port = gateway.ManagementUri.Port;

        var evil = await GetAsync(gateway, path, "evil.example");
        var evilWithPort = await GetAsync(gateway, path, $"evil.example:{port}");
        var localhost = await GetAsync(gateway, path, $"localhost:{port}");
        var ip = await GetAsync(gateway, path, "127.0.0.1");

        Assert.StartsWith("HTTP/1.1 400 ", evil, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", evil, StringComparison.Ordinal);
        Assert.Contains("Content-Length: 0\r\n", evil, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", evilWithPort, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 ", localhost, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 ", ip, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_in_AllowedHosts_is_answered_in_any_case_and_with_any_port()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Management"] = new JsonObject { ["AllowedHosts"] = new JsonArray("prometheus-target.internal", "mtlsgate") });
        var port = gateway.ManagementUri.Port;

        Assert.StartsWith("HTTP/1.1 200 ", await GetAsync(gateway, "/metrics", $"prometheus-target.internal:{port}"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 ", await GetAsync(gateway, "/metrics", "MTLSGATE"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", await GetAsync(gateway, "/metrics", "other.internal"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowedHosts_changes_with_a_reload()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastReload);
        Assert.StartsWith("HTTP/1.1 400 ", await GetAsync(gateway, "/healthz", "scraper.internal"), StringComparison.Ordinal);

        await gateway.RewriteConfigAsync(config => config["MtlsGate"]!["Management"] = new JsonObject { ["AllowedHosts"] = new JsonArray("scraper.internal") });

        Assert.StartsWith("HTTP/1.1 200 ", await GetAsync(gateway, "/healthz", "scraper.internal"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://metrics.internal", "is a URL")]
    [InlineData("metrics.internal:9090", "has a port or path")]
    [InlineData("*.internal", "has a wildcard")]
    [InlineData("", "is empty")]
    [InlineData("bad name", "is not a host name")]
    [InlineData("-bad.internal", "is not a host name")]
    public void Each_AllowedHosts_entry_must_be_a_host_name_or_start_up_is_refused_naming_the_key(string entry, string problem)
    {
        var errors = CompileErrors(new JsonArray("ok.internal", entry));

        var error = Assert.Single(errors);
        output.WriteLine(error);
        Assert.StartsWith("MtlsGate:Management:AllowedHosts:1: ", error, StringComparison.Ordinal);
        Assert.Contains(problem, error, StringComparison.Ordinal);
    }

    [Fact]
    public void AllowedHosts_given_as_one_string_instead_of_a_list_is_refused_naming_the_key()
    {
        var errors = CompileErrors(JsonValue.Create("metrics.internal"));

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Management:AllowedHosts: ", StringComparison.Ordinal));
    }

    [Fact]
    public void AllowedHosts_defaults_to_empty()
    {
        var (snapshot, errors) = Compile(null);

        Assert.Empty(errors);
        Assert.Empty(snapshot!.ManagementAllowedHosts);
    }

    private static IReadOnlyList<string> CompileErrors(JsonNode? allowedHosts) => Compile(allowedHosts).Errors;

    private static (GatewaySnapshot? Snapshot, IReadOnlyList<string> Errors) Compile(JsonNode? allowedHosts)
    {
        var folder = Directory.CreateTempSubdirectory("mtlsgate-mgmt-").FullName;
        try
        {
            var pki = TestPki.Instance;
            File.WriteAllText(Path.Combine(folder, "ca.pem"), pki.CaBundlePem);
            File.WriteAllText(Path.Combine(folder, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.ServerLeaf));
            File.WriteAllText(Path.Combine(folder, "server.key"), MtlsGate.Tls.Pki.KeyPem(pki.ServerLeaf));
            var config = TestGateway.DefaultConfig(new Uri("http://127.0.0.1:9/"));
            if (allowedHosts is not null)
            {
                config["MtlsGate"]!["Management"] = new JsonObject { ["AllowedHosts"] = allowedHosts };
            }

            var file = Path.Combine(folder, "gateway.json");
            File.WriteAllText(file, config.ToJsonString());
            var configuration = CommandLine.LoadConfiguration(["--config", file], out var baseDirectory, out _, includeAppSettings: false);
            return ConfigCompiler.Compile(configuration, baseDirectory);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A real HTTP/1.1 request to the management port with exactly this Host header; the whole response as text.</summary>
    private static async Task<string> GetAsync(TestGateway gateway, string path, string host)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gateway.ManagementUri.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
        return Encoding.ASCII.GetString(await RawTls.ReadToCloseAsync(stream));
    }
}
