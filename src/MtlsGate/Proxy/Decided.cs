using MtlsGate.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Proxy;

/// <summary>The decision the deciding middleware stored on the request; the transforms read it and never resolve again.</summary>
internal static class Decided
{
    /// <summary>Fails closed: a request without a decision never reached the middleware and must not be forwarded.</summary>
    public static DecidedRequest Of(RequestTransformContext context) =>
        context.HttpContext.Features.Get<DecidedRequest>()
        ?? throw new InvalidOperationException("A request reached the proxy without a decision: the deciding middleware must run first.");
}
