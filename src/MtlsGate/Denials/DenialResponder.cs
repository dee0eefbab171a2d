using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using MtlsGate.Configuration;
using MtlsGate.Tls;

namespace MtlsGate.Denials;

/// <summary>Turns a denial into bytes on the wire (or into none at all). Knows nothing of the proxy.</summary>
public static class DenialResponder
{
    public static Task WriteAsync(HttpContext context, DenialResponse response)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(response);

        if (response.Action == DenialAction.Close)
        {
            Close(context);
            return Task.CompletedTask;
        }

        var http = context.Response;
        http.StatusCode = response.Status;
        if (response.ContentType.Length != 0)
        {
            http.ContentType = response.ContentType;
        }

        foreach (var header in response.Headers)
        {
            http.Headers[header.Key] = header.Value;
        }

        http.ContentLength = response.Body.Length;
        return HttpMethods.IsHead(context.Request.Method) || response.Body.IsEmpty
            ? Task.CompletedTask
            : http.Body.WriteAsync(response.Body).AsTask();
    }

    /// <summary>
    /// Closes the whole connection without writing: on HTTP/1.1 zero bytes, on HTTP/2 the connection
    /// (aborting only the request would reset just its stream) — except on an edge's connection.
    /// </summary>
    private static void Close(HttpContext context)
    {
        var feature = context.Features.Get<ConnectionIdentityFeature>();
        // An edge's connection (MtlsGate:Edges) carries other clients' requests too (HTTP/2 streams from
        // a CDN): only this request is aborted (its stream reset; HTTP/1.1 ends the connection anyway).
        if (feature is not null && context.Features.Get<EdgeConnection>() is null)
        {
            feature.ClosedByPolicy = true;
            feature.Connection.Abort(new ConnectionAbortedException("Denied: closed by policy."));
        }

        context.Abort();
    }
}
