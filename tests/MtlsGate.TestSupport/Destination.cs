using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MtlsGate.Tests.TestSupport;

/// <summary>A request as the backend saw it (<see cref="Destination"/> and <see cref="RecordingBackend"/>).</summary>
public sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string[]> Headers)
{
    /// <summary>The request target exactly as it arrived (still percent-encoded, with the query).</summary>
    public string RawTarget { get; init; } = "";

    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value is { } values
            ? string.Join(",", values)
            : null;

    public int HeaderCount(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Sum(h => h.Value.Length);

    /// <summary>All values of a header (any case); empty when absent.</summary>
    public IReadOnlyList<string> Values(string name) => Headers.TryGetValue(name, out var values) ? values : [];

    /// <summary>The header's value when it arrived exactly once, else null.</summary>
    public string? One(string name) => Values(name) is [var one] ? one : null;
}

/// <summary>
/// A real destination app on loopback (plain HTTP, Kestrel): records every request; <c>/status/N</c>
/// answers N; <c>/upload</c> counts a streamed body; <c>/ws</c> echoes WebSocket messages.
/// </summary>
public sealed class Destination : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Destination(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public long LastUploadBytes { get; private set; }

    public static async Task<Destination> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        var app = builder.Build();
        Destination? destination = null;
        app.UseWebSockets();
        app.Run(async context =>
        {
            var request = context.Request;
            destination!.Requests.Enqueue(new RecordedRequest(
                request.Method,
                request.Path.Value ?? "",
                request.Headers.ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? "").ToArray(), StringComparer.OrdinalIgnoreCase))
            {
                RawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget,
            });

            if (request.Path.StartsWithSegments("/status", out var rest) && int.TryParse(rest.Value?.Trim('/'), out var status))
            {
                context.Response.StatusCode = status;
                context.Response.Headers["Server"] = "backend-server";
                await context.Response.WriteAsync($"backend says {status}");
                return;
            }

            if (request.Path.StartsWithSegments("/slow", out var delay) && int.TryParse(delay.Value?.Trim('/'), out var milliseconds))
            {
                // A deliberately slow backend (the test asks for /slow/N): time passing is the point here.
                await Task.Delay(milliseconds);
                await context.Response.WriteAsync($"slow {milliseconds}");
                return;
            }

            if (request.Path == "/api/config")
            {
                // Vaultwarden's GET /api/config as far as the Bitwarden bootstrap cares (dani-garcia/vaultwarden
                // src/api/core/mod.rs: "communication": null; environment.vault is its DOMAIN).
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(
                    "{\"version\":\"2025.12.0\",\"gitHash\":\"vaultwarden\",\"server\":{\"name\":\"Vaultwarden\",\"url\":\"https://github.com/dani-garcia/vaultwarden\"}," +
                    $"\"environment\":{{\"vault\":\"https://{request.Host.Value}\",\"api\":\"https://{request.Host.Value}/api\",\"identity\":\"https://{request.Host.Value}/identity\",\"notifications\":\"https://{request.Host.Value}/notifications\",\"sso\":\"\"}}," +
                    "\"featureStates\":{\"duo-redirect\":true},\"communication\":null,\"object\":\"config\"}");
                return;
            }

            if (request.Path == "/upload")
            {
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await request.Body.ReadAsync(buffer)) > 0)
                {
                    total += read;
                }

                destination.LastUploadBytes = total;
                await context.Response.WriteAsync($"received {total}");
                return;
            }

            if (request.Path == "/ws" && context.WebSockets.IsWebSocketRequest)
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[4096];
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                        return;
                    }

                    await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, CancellationToken.None);
                }
            }

            context.Response.Headers["Server"] = "backend-server";
            await context.Response.WriteAsync("backend ok");
        });
        await app.StartAsync();
        destination = new Destination(app, new Uri(app.Urls.First()));
        return destination;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
