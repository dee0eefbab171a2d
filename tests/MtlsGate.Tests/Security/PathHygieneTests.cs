using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Cli;
using MtlsGate.Configuration;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Security case 27 through the real gateway: targets a backend could resolve to another path than
/// the gateway's router are answered 400 before routing on HTTP/1.1 and HTTP/2 and never forwarded;
/// a route with <c>MtlsGate.AllowEncodedSlashes</c> receives <c>%2F</c> as <c>%2F</c>, byte for byte.
/// </summary>
public sealed class PathHygieneTests(PathHygieneTests.Fixture fixture, ITestOutputHelper output) : IClassFixture<PathHygieneTests.Fixture>
{
    private TestGateway Gateway => fixture.Gateway;

    public static TheoryData<string> RefusedTargets => new()
    {
        "/send/..;/api/x",
        "/send/.;/api/x",
        "/send/%2e%2e;/api/x",
        "/send/..%3B/api/x",
        "/send/..%5capi/x",
        "/send/..%5Capi/x",
        "/send/a\\b",
        "/send/a%2Fb",
        "/send/a%2fb",
        "/files/a%2Fb%25",
        "/files/..%2Fapi",
        "/files/a%2F..;/b",
        "/files/x/../a%2Fb",
    };

    [Theory]
    [MemberData(nameof(RefusedTargets))]
    public async Task A_refused_target_gets_the_same_minimal_400_on_HTTP_1_1_and_HTTP_2_and_never_reaches_the_backend(string target)
    {
        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            var marker = Guid.NewGuid().ToString("N");
            using var client = Gateway.Client(TestPki.Instance.Good, version);
            using var response = await client.SendAsync(Request(target + "?m=" + marker, version));
            var body = await response.Content.ReadAsByteArrayAsync();
            output.WriteLine($"{version} {target} -> {(int)response.StatusCode} headers: {string.Join(", ", response.Headers.Select(h => h.Key))}");

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(version, response.Version);
            Assert.Empty(body);
            Assert.Equal(0, response.Content.Headers.ContentLength);
            Assert.Null(response.Content.Headers.ContentType);
            Assert.Equal(["Date"], response.Headers.Select(h => h.Key).Where(k => k != "Connection"));
            Assert.DoesNotContain(Gateway.Backend.Requests, r => r.RawTarget.Contains(marker, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_HTTP_1_1_400_is_a_status_line_a_zero_length_and_a_date_and_the_connection_stays_usable()
    {
        await using var ssl = await RawTls.ConnectAsync(Gateway.GatewayUri, TestPki.Instance.Good);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes("GET /send/..;/api/x HTTP/1.1\r\nHost: localhost\r\n\r\nGET /after-400 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        var text = Encoding.ASCII.GetString(await RawTls.ReadToCloseAsync(ssl));
        output.WriteLine(text);

        var first = text[..(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)];
        var lines = first.Split("\r\n").Where(l => !l.StartsWith("Date: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["HTTP/1.1 400 Bad Request", "Content-Length: 0", "", ""], lines);
        Assert.Contains("HTTP/1.1 200 OK", text[first.Length..], StringComparison.Ordinal);
        Assert.Contains(Gateway.Backend.Requests, r => r.RawTarget == "/after-400");
        Assert.DoesNotContain(Gateway.Backend.Requests, r => r.RawTarget.Contains("..;", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_encoded_slash_mark_ends_with_its_request_on_a_kept_alive_connection()
    {
        await using var ssl = await RawTls.ConnectAsync(Gateway.GatewayUri, TestPki.Instance.Good);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes(
            "GET /files/keep%2Falive HTTP/1.1\r\nHost: localhost\r\n\r\nGET /send/after-mark HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        var text = Encoding.ASCII.GetString(await RawTls.ReadToCloseAsync(ssl));

        Assert.Equal(2, text.Split("HTTP/1.1 200 OK").Length - 1);
        Assert.Contains(Gateway.Backend.Requests, r => r.RawTarget == "/send/after-mark");
    }

    [Fact]
    public async Task A_refused_target_is_answered_400_before_any_policy_even_without_a_certificate()
    {
        using var client = Gateway.Client(null);
        using var refused = await client.SendAsync(Request("/send/..;/api/x", HttpVersion.Version11));
        using var denied = await client.SendAsync(Request("/send/api/x", HttpVersion.Version11));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, denied.StatusCode);
    }

    [Theory]
    [InlineData("/files/a%2Fb/c?x=%2F&y=%25", "/files/a%2Fb/c?x=%2F&y=%25")]
    [InlineData("/files/a%2fb", "/files/a%2Fb")]
    [InlineData("/files/a%2Fb%20c%C3%A9;v=1", "/files/a%2Fb%20c%C3%A9;v=1")]
    public async Task On_a_route_that_allows_encoded_slashes_the_backend_receives_them_encoded_once(string target, string forwarded)
    {
        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            var before = Gateway.Backend.Requests.Count;
            using var client = Gateway.Client(TestPki.Instance.Good, version);
            using var response = await client.SendAsync(Request(target, version));
            var seen = Gateway.Backend.Requests.Skip(before).Select(r => r.RawTarget).ToList();
            output.WriteLine($"{version} {target} -> {(int)response.StatusCode}, backend: {string.Join(" ", seen)}");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal([forwarded], seen);
        }
    }

    [Theory]
    [InlineData("/files/a%252Fb", "/files/a%252Fb")]
    [InlineData("/send/a%252Fb", "/send/a%252Fb")]
    [InlineData("/send/a;b/c%3Bd", "/send/a;b/c;d")]
    [InlineData("/send/x/%2e%2e/y", "/send/y")]
    [InlineData("/send/100%25", "/send/100%25")]
    public async Task Ordinary_targets_are_forwarded_as_the_normalised_path_never_double_encoded(string target, string forwarded)
    {
        var before = Gateway.Backend.Requests.Count;
        using var client = Gateway.Client(TestPki.Instance.Good, HttpVersion.Version20);
        using var response = await client.SendAsync(Request(target, HttpVersion.Version20));
        var seen = Gateway.Backend.Requests.Skip(before).Select(r => r.RawTarget).ToList();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([forwarded], seen);
    }

    [Fact]
    public async Task A_refused_target_is_logged_once_with_its_problem_and_never_with_its_query()
    {
        var capture = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(
            config => config["Serilog"] = new JsonObject { ["MinimumLevel"] = new JsonObject { ["Default"] = "Information" } },
            services => services.AddSingleton<ILoggerProvider>(capture));
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.SendAsync(Request("/send/..;/admin?access_token=SECRET-TOKEN-27", HttpVersion.Version11, gateway));
        using var encoded = await client.SendAsync(Request("/send/..%5cadmin?access_token=SECRET-TOKEN-28", HttpVersion.Version11, gateway));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, encoded.StatusCode);
        var refused = capture.Events.Where(e => e.EventName == "RequestTargetRefused").Select(e => e.Message.Replace("\"", "", StringComparison.Ordinal)).ToList();
        output.WriteLine(string.Join("\n", refused));
        Assert.Equal(2, refused.Count);
        Assert.Contains("GET /send/..;/admin refused with 400: DotSegmentParameter", refused[0], StringComparison.Ordinal);
        // The raw path is logged as the client encoded it, not encoded again.
        Assert.Contains("GET /send/..%5cadmin refused with 400: EncodedBackslash", refused[1], StringComparison.Ordinal);
        Assert.DoesNotContain(capture.Events, e => e.Message.Contains("SECRET-TOKEN", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("")]
    public void AllowEncodedSlashes_other_than_true_or_false_is_refused_at_start_up_naming_the_key(string value)
    {
        var errors = BuildErrors(value);

        Assert.Contains(errors, e => e.StartsWith("ReverseProxy:Routes:files:Metadata:MtlsGate.AllowEncodedSlashes:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("true")]
    [InlineData("False")]
    public void AllowEncodedSlashes_true_or_false_compiles(string value) =>
        Assert.Empty(BuildErrors(value));

    private static IReadOnlyList<string> BuildErrors(string value)
    {
        var folder = Directory.CreateTempSubdirectory("mtlsgate-path-").FullName;
        try
        {
            var pki = TestPki.Instance;
            File.WriteAllText(Path.Combine(folder, "ca.pem"), pki.CaBundlePem);
            File.WriteAllText(Path.Combine(folder, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.ServerLeaf));
            File.WriteAllText(Path.Combine(folder, "server.key"), MtlsGate.Tls.Pki.KeyPem(pki.ServerLeaf));
            var config = TestGateway.DefaultConfig(new Uri("http://127.0.0.1:9/"));
            AddFilesRoute(config, JsonValue.Create(value));
            var file = Path.Combine(folder, "gateway.json");
            File.WriteAllText(file, config.ToJsonString());
            var configuration = CommandLine.LoadConfiguration(["--config", file], out var baseDirectory, out _, includeAppSettings: false);
            return ConfigCompiler.Compile(configuration, baseDirectory).Errors;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A request whose target is sent exactly as written (no client-side normalisation).</summary>
    private HttpRequestMessage Request(string target, Version version, TestGateway? gateway = null) =>
        new(HttpMethod.Get, new Uri((gateway ?? Gateway).GatewayUri + target.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }))
        {
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    private static void AddFilesRoute(JsonObject config, JsonNode? allowEncodedSlashes) =>
        config["ReverseProxy"]!["Routes"]!["files"] = new JsonObject
        {
            ["ClusterId"] = "app",
            ["Match"] = new JsonObject { ["Path"] = "/files/{**rest}" },
            ["Metadata"] = new JsonObject
            {
                [ConfigCompiler.PolicyMetadataKey] = "Default",
                [RouteMetadataCompiler.AllowEncodedSlashesKey] = allowEncodedSlashes,
            },
        };

    /// <summary>One gateway for the class: the catch-all route, plus <c>/files/</c> allowing encoded slashes.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public TestGateway Gateway { get; private set; } = null!;

        public async Task InitializeAsync() => Gateway = await TestGateway.StartAsync(config => AddFilesRoute(config, JsonValue.Create(true)));

        public async Task DisposeAsync() => await Gateway.DisposeAsync();
    }
}
