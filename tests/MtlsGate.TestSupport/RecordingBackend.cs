using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// The destination app: in-process Kestrel on loopback that records every request and answers
/// 200 "backend ok", or 401 for paths ending in /unauthorized and 403 for /forbidden.
/// It keeps Kestrel's own Server header, so the gateway's removal of it is observable.
/// </summary>
public sealed class RecordingBackend : IAsyncDisposable
{
    public const string OkBody = "backend ok";
    public const string UnauthorizedBody = "backend says: log in";
    public const string ForbiddenBody = "backend says: no";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private RecordingBackend(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>The requests that reached the backend for exactly this path.</summary>
    public IReadOnlyList<RecordedRequest> RequestsFor(string path) => [.. _requests.Where(r => r.Path == path)];

    public static async Task<RecordingBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        RecordingBackend? backend = null;
        app.Run(async context =>
        {
            var request = context.Request;
            var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? "").ToArray(), StringComparer.OrdinalIgnoreCase);
            backend!._requests.Enqueue(new RecordedRequest(request.Method, request.Path.Value ?? "", headers));
            var path = request.Path.Value ?? "";
            var response = context.Response;
            response.ContentType = "text/plain";
            if (path.EndsWith("/unauthorized", StringComparison.Ordinal))
            {
                response.StatusCode = StatusCodes.Status401Unauthorized;
                response.Headers.WWWAuthenticate = "Bearer realm=\"backend\"";
                await response.WriteAsync(UnauthorizedBody);
            }
            else if (path.EndsWith("/forbidden", StringComparison.Ordinal))
            {
                response.StatusCode = StatusCodes.Status403Forbidden;
                response.Headers["X-Backend-Reason"] = "forbidden-by-backend";
                await response.WriteAsync(ForbiddenBody);
            }
            else
            {
                await response.WriteAsync(OkBody);
            }
        });
        await app.StartAsync();
        backend = new RecordingBackend(app, new Uri(app.Urls.First()));
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
