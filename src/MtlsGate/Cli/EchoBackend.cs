using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MtlsGate.Cli;

/// <summary>The demo's built-in backend: plain HTTP on loopback, echoes the request line and headers it received.</summary>
public static class EchoBackend
{
    public static async Task<(WebApplication App, Uri Address)> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.Run(async context =>
        {
            var text = new StringBuilder();
            text.Append("echo backend: ").Append(context.Request.Method).Append(' ').Append(context.Request.Path).Append('\n');
            foreach (var header in context.Request.Headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
            {
                text.Append(header.Key).Append(": ").Append(header.Value.ToString()).Append('\n');
            }

            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(text.ToString()).ConfigureAwait(false);
        });
        await app.StartAsync().ConfigureAwait(false);
        var address = new Uri(app.Urls.First());
        return (app, address);
    }
}
