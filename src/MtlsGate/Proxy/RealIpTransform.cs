using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Proxy;

/// <summary>Sets <c>X-Real-IP</c>: the client address the request was judged with (trusted proxies resolved).</summary>
public sealed class RealIpTransform : RequestTransform
{
    public const string HeaderName = "X-Real-IP";

    public static readonly RealIpTransform Instance = new();

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var decided = Decided.Of(context);
        if (decided.ClientAddress is { } ip)
        {
            // Behind a trusted proxy the address was resolved per request; otherwise it is the connection's, formatted once.
            var text = decided.Snapshot.TrustedProxies.Count == 0 ? decided.Connection?.RemoteIp ?? ip.ToString() : ip.ToString();
            context.ProxyRequest.Headers.TryAddWithoutValidation(HeaderName, text);
        }

        return ValueTask.CompletedTask;
    }
}
