using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json.Nodes;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Resource exhaustion: stalled handshakes, slow headers and connection floods are cut off by the
/// configured limits while a legitimate client keeps being served.
/// </summary>
public sealed class ExhaustionTests(ITestOutputHelper output)
{
    private static TestPki Pki => TestPki.Instance;

    /// <summary>A TLS record header and ClientHello start announcing 512 bytes, of which only these arrive.</summary>
    private static readonly byte[] PartialClientHello =
        [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];

    [Fact]
    public async Task Hundreds_of_stalled_handshakes_are_reaped_by_the_handshake_timeout_while_a_valid_client_is_served()
    {
        var handshakeTimeout = TimeSpan.FromSeconds(2);
        await using var gateway = await TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Tls"] = new JsonObject { ["HandshakeTimeout"] = "00:00:02" });
        var port = gateway.GatewayUri.Port;
        Assert.Equal(200, await FreshRequestAsync(gateway, "/before"));

        var clock = Stopwatch.StartNew();
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port);
                if (i % 5 == 0)
                {
                    await socket.SendAsync(PartialClientHello);
                }

                sockets.Add(socket);
            }

            output.WriteLine($"300 stalled connections opened in {clock.ElapsedMilliseconds} ms");

            // A valid client, on fresh connections (full handshakes), while the stalled ones are held.
            var during = new List<int>();
            for (var i = 0; i < 5; i++)
            {
                during.Add(await FreshRequestAsync(gateway, "/during"));
            }

            Assert.All(during, status => Assert.Equal(200, status));

            var closes = await Task.WhenAll(sockets.Select(s => WaitForCloseAsync(s, TimeSpan.FromSeconds(8))));
            var stillOpen = closes.Count(c => c is null);
            var closedAt = closes.Where(c => c is not null).Select(c => c!.Value).ToList();
            output.WriteLine($"closed: {closedAt.Count}, still open after 8 s: {stillOpen}; first close {closedAt.DefaultIfEmpty().Min().TotalMilliseconds:F0} ms, last {closedAt.DefaultIfEmpty().Max().TotalMilliseconds:F0} ms after the waits began ({clock.ElapsedMilliseconds} ms since the first connect)");

            Assert.Equal(0, stillOpen);
            // Reaped by the timeout (Kestrel checks once a second), not by anything slower.
            Assert.True(clock.Elapsed < handshakeTimeout + TimeSpan.FromSeconds(8));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        Assert.Equal(200, await FreshRequestAsync(gateway, "/after"));
        Assert.Equal(7, gateway.Backend.Requests.Count);
    }

    [Fact]
    public async Task Slow_header_clients_are_cut_off_by_the_request_headers_timeout_while_a_valid_client_is_served()
    {
        await using var gateway = await TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Limits"] = new JsonObject { ["RequestHeadersTimeout"] = "00:00:02" });

        var slow = Enumerable.Range(0, 10).Select(async i =>
        {
            // With a valid certificate: the policy would allow it; only the timeout stops it.
            await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
            var clock = Stopwatch.StartNew();
            var head = Encoding.ASCII.GetBytes($"GET /slow-headers-{i} HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + new string('a', 60));
            var received = new MemoryStream();
            var reader = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                try
                {
                    int read;
                    while ((read = await ssl.ReadAsync(buffer)) > 0)
                    {
                        received.Write(buffer, 0, read);
                    }
                }
                catch (IOException)
                {
                }
            });

            try
            {
                foreach (var b in head)
                {
                    if (reader.IsCompleted || clock.Elapsed > TimeSpan.FromSeconds(15))
                    {
                        break;
                    }

                    await ssl.WriteAsync(new[] { b });
                    await ssl.FlushAsync();
                    await Task.WhenAny(reader, Task.Delay(1000)); // the slowloris pace: one byte a second, unless the server closes first
                }
            }
            catch (IOException)
            {
                // The server closed while we were still trickling: that is the point.
            }

            await Task.WhenAny(reader, Task.Delay(TimeSpan.FromSeconds(10))); // the server's close, bounded: Closed says which came first
            return (Closed: reader.IsCompleted, After: clock.Elapsed, Response: Encoding.ASCII.GetString(received.ToArray()));
        }).ToList();

        // The valid client meanwhile, on fresh connections. Deliberate time, not synchronisation: the slow clients
        // trickle for a while first, and the valid requests are spread over the attack.
        await Task.Delay(500);
        var during = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            during.Add(await FreshRequestAsync(gateway, "/during"));
            await Task.Delay(300); // spread over the attack (see above)
        }

        var results = await Task.WhenAll(slow);
        foreach (var result in results)
        {
            output.WriteLine($"closed={result.Closed} after {result.After.TotalMilliseconds:F0} ms: {result.Response.Split("\r\n")[0]}");
        }

        Assert.All(during, status => Assert.Equal(200, status));
        Assert.All(results, r =>
        {
            Assert.True(r.Closed, "a slow-header connection was still open");
            Assert.InRange(r.After, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(6));
            Assert.True(r.Response.Length == 0 || r.Response.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), r.Response);
        });
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path.StartsWith("/slow-headers", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connections_beyond_MaxConcurrentConnections_are_closed_and_a_freed_slot_is_usable_again()
    {
        const int limit = 5;
        await using var gateway = await TestGateway.StartAsync(config =>
            config["MtlsGate"]!["Limits"] = new JsonObject { ["MaxConcurrentConnections"] = limit });

        var held = new List<System.Net.Security.SslStream>();
        try
        {
            for (var i = 0; i < limit; i++)
            {
                var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
                await ssl.WriteAsync(Encoding.ASCII.GetBytes($"GET /held-{i} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
                Assert.StartsWith("HTTP/1.1 200", await ReadResponseHeadAsync(ssl), StringComparison.Ordinal);
                held.Add(ssl);
            }

            // Every excess connection is closed before it can do anything (no TLS handshake, no request).
            for (var i = 0; i < 10; i++)
            {
                var refused = await Record.ExceptionAsync(() => FreshRequestAsync(gateway, "/excess"));
                output.WriteLine($"excess connection {i}: {refused?.GetType().Name}: {refused?.Message}");
                Assert.True(refused is IOException or AuthenticationException or SocketException, $"excess connection {i} was not refused: {refused}");
            }

            Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/excess");

            // The management listener (health checks) is not starved by a full gateway listener.
            using (var management = new HttpClient { BaseAddress = gateway.ManagementUri, Timeout = TimeSpan.FromSeconds(5) })
            {
                var health = await Record.ExceptionAsync(async () => Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz")).StatusCode));
                output.WriteLine("healthz while the gateway is full: " + (health?.Message ?? "200"));
                Assert.Null(health);
            }

            // The held connections keep working.
            await held[0].WriteAsync(Encoding.ASCII.GetBytes("GET /held-again HTTP/1.1\r\nHost: localhost\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 200", await ReadResponseHeadAsync(held[0]), StringComparison.Ordinal);

            // Freeing a slot lets a new client in (the count is released asynchronously: bounded retry).
            await held[^1].DisposeAsync();
            held.RemoveAt(held.Count - 1);
            int? status = null;
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        status = await FreshRequestAsync(gateway, "/after-free");
                        return true;
                    }
                    catch (Exception e) when (e is IOException or AuthenticationException)
                    {
                        return false;
                    }
                },
                TimeSpan.FromSeconds(5),
                "a new client gets in once a slot is freed");

            Assert.Equal(200, status);
        }
        finally
        {
            foreach (var ssl in held)
            {
                await ssl.DisposeAsync();
            }
        }
    }

    /// <summary>One request on a new TLS connection (full handshake), closed after; the status code.</summary>
    private static async Task<int> FreshRequestAsync(TestGateway gateway, string path)
    {
        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, Pki.Good, $"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        return response.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(response.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Reads one response with a Content-Length or chunked body from a kept-alive connection (bounded).</summary>
    private static async Task<string> ReadResponseHeadAsync(Stream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (!timeout.IsCancellationRequested)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            var s = text.ToString();
            if (s.Contains("\r\n0\r\n\r\n", StringComparison.Ordinal) || (s.Contains("Content-Length:", StringComparison.OrdinalIgnoreCase) && s.Contains("\r\n\r\n", StringComparison.Ordinal) && s.EndsWith("backend ok", StringComparison.Ordinal)))
            {
                break;
            }
        }

        return text.ToString();
    }

    /// <summary>How long until the server closed the socket (FIN or RST), or null if it stayed open.</summary>
    private static async Task<TimeSpan?> WaitForCloseAsync(Socket socket, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(limit);
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                if (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0)
                {
                    return clock.Elapsed;
                }
            }
        }
        catch (SocketException)
        {
            return clock.Elapsed;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
