using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Denials;

/// <summary>
/// The seam between a request and an authenticated edge (<c>MtlsGate:Edges</c>). On an edge's
/// connection the client is not the TCP/TLS peer: its certificate arrives in the edge's headers, and
/// the host it asked for is the forwarded <c>Host</c> (the edge's own SNI names the edge's hop). On any
/// other connection nothing here applies, and the proxy strips those headers unread.
/// </summary>
public static class ForwardedIdentity
{
    /// <summary>The authenticated edge this request arrived through, or null for a direct connection.</summary>
    public static EdgeConnection? EdgeOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<EdgeConnection>();
    }

    /// <summary>
    /// The configured host an edge's request is for: its <c>Host</c> header (trusted only because the
    /// edge authenticated), or null for a name that is not configured (the top-level settings).
    /// </summary>
    public static string? HostOf(HttpContext context, GatewaySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(snapshot);
        return snapshot.HostFor(context.Request.Host.Host)?.Name;
    }

    /// <summary>
    /// The identity of the certificate the edge forwarded, judged against <paramref name="store"/> (the
    /// request's trust store) by the same validator as a direct one; an unreadable value is one Debug line.
    /// </summary>
    public static ClientIdentity Resolve(EdgeConnection edge, HttpContext context, TrustStore? store, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(edge);
        ArgumentNullException.ThrowIfNull(context);
        var identity = edge.IdentityFor(context.Request.Headers, store, out var problem);
        if (problem is not null)
        {
            Log.ForwardedCertificateUnreadable(logger, edge.Edge.Name, problem);
        }

        return identity;
    }
}
