using System.Net;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>
/// The one decision on a request, made by the deciding middleware and stored on the request
/// (<c>HttpContext.Features</c>) before it is forwarded. Everything after it (the proxy's transforms)
/// reads this instead of resolving policy and identity again: a re-resolution could meet another
/// snapshot after a reload. Set only on requests that are forwarded; one allocation per such request
/// (the resolution it replaces, <see cref="ResolvedPolicy"/>, is now a struct, and the transform no
/// longer resolves a second time).
/// </summary>
/// <param name="Snapshot">The configuration the request was judged with (the one that built its route).</param>
/// <param name="Policy">The policy it was judged by.</param>
/// <param name="Identity">The client's identity, judged against the trust store that applies to the request.</param>
/// <param name="Decision">Allow, or WouldDeny (log-only): only forwarded requests carry a decision.</param>
/// <param name="ClientAddress">The client address after trusted-proxy resolution, or null when unknown.</param>
/// <param name="Connection">The TLS connection's identity feature (per-connection caches), or null.</param>
public sealed record DecidedRequest(
    GatewaySnapshot Snapshot,
    CompiledPolicy Policy,
    ClientIdentity Identity,
    Decision Decision,
    IPAddress? ClientAddress,
    ConnectionIdentityFeature? Connection)
{
    /// <summary>The login session the request was admitted with (its certificate was missing or refused), or null.</summary>
    public LoginSession? Session { get; init; }
}
