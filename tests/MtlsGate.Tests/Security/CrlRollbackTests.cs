using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Security;

/// <summary>
/// SECURITY.md case 25: revocation never rolls back. An older CRL (lower number, same number with other
/// content, older thisUpdate) is refused from a file and from a CRL URL, the high-water mark survives a
/// restart, and a CRL download over MaxCrlBytes is aborted while streaming and never cached.
/// </summary>
public sealed class CrlRollbackTests : IDisposable
{
    private static TestPki Pki => TestPki.Instance;

    private readonly string _folder = Directory.CreateTempSubdirectory("mtlsgate-rollback-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string CrlFile => Path.Combine(_folder, "root.crl");

    private string StateFolder => Path.Combine(_folder, "state");

    private Task<TestGateway> StartWithCrlFileAsync(byte[] crl)
    {
        File.WriteAllBytes(CrlFile, crl);
        return TestGateway.StartAsync(config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["StateDirectory"] = StateFolder;
            config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray(CrlFile);
        });
    }

    [Fact]
    public async Task A_CRL_file_numbered_below_the_one_in_force_is_refused_at_reload_and_the_revoked_certificate_stays_refused()
    {
        await using var gateway = await StartWithCrlFileAsync(TestPki.Crl(Pki.Root, [Pki.Good], number: 201));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(gateway, "/revoked"));

        var reloaded = await gateway.WaitForReloadAsync(() => File.WriteAllBytes(CrlFile, TestPki.Crl(Pki.Root, [], number: 200)));

        Assert.False(reloaded);
        var error = Assert.Single(gateway.State.LastReloadErrors);
        Assert.StartsWith("MtlsGate:TrustStores:Default:Crls:0:", error, StringComparison.Ordinal);
        Assert.Contains("root.crl", error, StringComparison.Ordinal);
        Assert.Contains("below 201", error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(gateway, "/still-revoked"));
        var (_, readiness) = await ManagementAsync(gateway, "/readyz");
        Assert.Contains("Rollback", readiness, StringComparison.Ordinal);
        Assert.Contains("below 201", readiness, StringComparison.Ordinal);
        Assert.True(CrlHighWaterMarks.For(StateFolder).RefusalCount(CrlRefusalKind.Rollback) >= 1);
        Assert.Contains("mtlsgate_crl_refusals{reason=\"Rollback\"}", (await ManagementAsync(gateway, "/metrics")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_CRL_file_with_the_same_number_but_other_content_or_an_older_thisUpdate_is_refused_while_the_same_bytes_are_fine()
    {
        var inForce = TestPki.Crl(Pki.Root, [Pki.Good], number: 5, thisUpdate: DateTimeOffset.UtcNow.AddMinutes(-2));
        await using var gateway = await StartWithCrlFileAsync(inForce);

        Assert.False(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(CrlFile, TestPki.Crl(Pki.Root, [], number: 5))));
        Assert.Contains("other content", Assert.Single(gateway.State.LastReloadErrors), StringComparison.Ordinal);
        Assert.False(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(CrlFile, TestPki.Crl(Pki.Root, [], number: 6, thisUpdate: DateTimeOffset.UtcNow.AddDays(-1)))));
        Assert.Contains("older than", Assert.Single(gateway.State.LastReloadErrors), StringComparison.Ordinal);
        Assert.True(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(CrlFile, inForce)));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(gateway, "/revoked"));
        Assert.True(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(CrlFile, TestPki.Crl(Pki.Root, [], number: 6))));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(gateway, "/forward"));
    }

    [Fact]
    public async Task The_high_water_mark_survives_a_restart_so_a_new_gateway_on_the_same_state_directory_refuses_the_older_CRL_at_start_up()
    {
        await using (var first = await StartWithCrlFileAsync(TestPki.Crl(Pki.Root, [Pki.Good], number: 201)))
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(first, "/revoked"));
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartWithCrlFileAsync(TestPki.Crl(Pki.Root, [], number: 200)));

        Assert.Contains("MtlsGate:TrustStores:Default:Crls:0:", error.Message, StringComparison.Ordinal);
        Assert.Contains("root.crl", error.Message, StringComparison.Ordinal);
        Assert.Contains("below 201", error.Message, StringComparison.Ordinal);
        Assert.Contains(CrlHighWaterMarks.FileName, error.Message, StringComparison.Ordinal);

        // The documented way back: delete the mark file.
        File.Delete(Path.Combine(StateFolder, CrlHighWaterMarks.FileName));
        await using var recovered = await StartWithCrlFileAsync(TestPki.Crl(Pki.Root, [], number: 200));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(recovered, "/after-recovery"));
    }

    [Fact]
    public async Task A_CRL_URL_that_serves_an_older_CRL_after_a_newer_one_is_refused_and_not_cached()
    {
        var served = TestPki.Crl(Pki.Root, [Pki.Good], number: 201);
        var fetches = 0;
        await using var server = await CrlServer.StartAsync(async context =>
        {
            Interlocked.Increment(ref fetches);
            await context.Response.Body.WriteAsync(Volatile.Read(ref served));
        });
        await using var gateway = await StartWithUrlAsync(server.Url);
        await Eventually.TrueAsync(async () => await StatusAsync(gateway, "/probe") == HttpStatusCode.NotFound, TimeSpan.FromSeconds(20), "the revoked certificate is refused (404)");
        var cache = ConfigCompiler.CrlCachePath(gateway.State.Current.Reload.CrlCacheDirectory, new Uri(server.Url));
        var cached = File.ReadAllBytes(cache);

        Volatile.Write(ref served, TestPki.Crl(Pki.Root, [], number: 200));
        var before = Volatile.Read(ref fetches);
        await Eventually.TrueAsync(() => Volatile.Read(ref fetches) >= before + 2, TimeSpan.FromSeconds(20), "the CRL is fetched twice more");
        await Eventually.TrueAsync(async () => (await ManagementAsync(gateway, "/readyz")).Body.Contains("Rollback", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "/readyz reports the CRL rollback");

        Assert.Equal(cached, File.ReadAllBytes(cache));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(gateway, "/still-revoked"));
        Assert.Contains("below 201", (await ManagementAsync(gateway, "/readyz")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_CRL_download_over_MaxCrlBytes_is_aborted_while_streaming_and_the_cache_stays_untouched()
    {
        var good = TestPki.Crl(Pki.Root, [Pki.Good], number: 1);
        var huge = 0;
        long sent = 0;
        // A raw socket server: a write succeeds only while the gateway still reads (Kestrel would
        // silently discard writes after the client hung up, hiding how much was really taken).
        await using var server = RawHttpServer.Start(async stream =>
        {
            if (Volatile.Read(ref huge) == 0)
            {
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {good.Length}\r\nConnection: close\r\n\r\n"));
                await stream.WriteAsync(good);
                return;
            }

            // Up to 1 GiB of zeros, close-delimited (no Content-Length): only reading the body shows its size.
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"u8.ToArray());
            var chunk = new byte[64 * 1024];
            for (var i = 0; i < 16 * 1024; i++)
            {
                await stream.WriteAsync(chunk);
                Interlocked.Add(ref sent, chunk.Length);
            }
        });
        await using var gateway = await StartWithUrlAsync(server.Url, config => config["MtlsGate"]!["Limits"] = new JsonObject { ["MaxCrlBytes"] = 1024 * 1024 });
        await Eventually.TrueAsync(async () => await StatusAsync(gateway, "/probe") == HttpStatusCode.NotFound, TimeSpan.FromSeconds(20), "the revoked certificate is refused (404)");
        var cache = ConfigCompiler.CrlCachePath(gateway.State.Current.Reload.CrlCacheDirectory, new Uri(server.Url));
        var cached = File.ReadAllBytes(cache);

        Volatile.Write(ref huge, 1);
        await Eventually.TrueAsync(async () => (await ManagementAsync(gateway, "/readyz")).Body.Contains("TooLarge", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "/readyz reports the oversized CRL");

        Assert.Equal(cached, File.ReadAllBytes(cache));
        Assert.Single(Directory.GetFiles(gateway.State.Current.Reload.CrlCacheDirectory, "*", SearchOption.AllDirectories));
        // The body was abandoned near the cap (plus what sockets buffer), far from the 1 GiB offered.
        Assert.True(Interlocked.Read(ref sent) < 64L * 1024 * 1024, $"{Interlocked.Read(ref sent)} bytes were sent before the gateway hung up");
        Assert.True(CrlHighWaterMarks.For(gateway.State.Current.StateDirectory).RefusalCount(CrlRefusalKind.TooLarge) >= 1);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(gateway, "/still-revoked"));
    }

    private Task<TestGateway> StartWithUrlAsync(string url, Action<JsonObject>? more = null) =>
        TestGateway.StartAsync(config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["StateDirectory"] = StateFolder;
            config["MtlsGate"]!["TrustStores"]!["Default"]!["CrlUrls"] = new JsonArray(url);
            more?.Invoke(config);
        });

    private static async Task<HttpStatusCode> StatusAsync(TestGateway gateway, string path)
    {
        using var client = gateway.Client(Pki.Good);
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    private static async Task<(HttpStatusCode Status, string Body)> ManagementAsync(TestGateway gateway, string path)
    {
        using var client = new HttpClient { BaseAddress = gateway.ManagementUri };
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A plain-HTTP loopback server for CRL URLs.</summary>
    private sealed class CrlServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private CrlServer(WebApplication app) => _app = app;

        public string Url => _app.Urls.First() + "/root.crl";

        public static async Task<CrlServer> StartAsync(RequestDelegate handler)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.Run(handler);
            await app.StartAsync();
            return new CrlServer(app);
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }

    /// <summary>The smallest HTTP/1.1 server on a raw loopback socket: reads a request head, lets the test write the response, closes.</summary>
    private sealed class RawHttpServer : IAsyncDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener;
        private readonly Task _loop;

        private RawHttpServer(System.Net.Sockets.TcpListener listener, Func<Stream, Task> respond)
        {
            _listener = listener;
            _loop = Task.Run(async () =>
            {
                while (true)
                {
                    System.Net.Sockets.TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync();
                    }
                    catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
                    {
                        return;
                    }

                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            var stream = client.GetStream();
                            try
                            {
                                var head = new List<byte>();
                                var one = new byte[1];
                                while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n') && await stream.ReadAsync(one) == 1)
                                {
                                    head.Add(one[0]);
                                }

                                await respond(stream);
                            }
                            catch (IOException)
                            {
                                // The gateway hung up.
                            }
                        }
                    });
                }
            });
        }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/root.crl";

        public static RawHttpServer Start(Func<Stream, Task> respond)
        {
            var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new RawHttpServer(listener, respond);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _loop;
        }
    }
}
