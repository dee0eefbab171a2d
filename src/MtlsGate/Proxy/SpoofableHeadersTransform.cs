using System.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Proxy;

/// <summary>
/// Removes every header of the client's that a backend could take for the gateway's word
/// (<see cref="HeaderSanitizer.IsDropped"/>: certificate, forwarding and authenticating-proxy
/// headers, and underscored names). Runs first, before the route's own transforms and ours, so
/// whatever a transform sets afterwards is the gateway's. YARP has already copied the client's
/// headers onto the proxy request (<c>RequestTransformContext.HeadersCopied</c>, dotnet/yarp
/// src/ReverseProxy/Transforms/Builder/StructuredTransformer.cs); on a route that turned copying
/// off, later transforms read the client's headers, so those are stripped instead.
/// </summary>
public sealed class SpoofableHeadersTransform : RequestTransform
{
    public static readonly SpoofableHeadersTransform Instance = new();

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.HeadersCopied)
        {
            HeaderSanitizer.Strip(context.HttpContext.Request.Headers);
            return ValueTask.CompletedTask;
        }

        Strip(context.ProxyRequest.Headers);
        if (context.ProxyRequest.Content is { } content)
        {
            Strip(content.Headers);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Allocates only when a header is dropped (NonValidated enumerates without allocating).</summary>
    private static void Strip(HttpHeaders headers)
    {
        List<string>? doomed = null;
        foreach (var header in headers.NonValidated)
        {
            if (HeaderSanitizer.IsDropped(header.Key))
            {
                (doomed ??= []).Add(header.Key);
            }
        }

        if (doomed is null)
        {
            return;
        }

        foreach (var name in doomed)
        {
            headers.Remove(name);
        }
    }
}
