using System.Net;
using Microsoft.AspNetCore.Http;
using MtlsGate.Configuration;

namespace MtlsGate.Denials;

/// <summary>
/// The client's address: the TCP peer, unless the peer is a configured trusted proxy, in which case
/// the proxy's header is believed (<c>X-Forwarded-For</c>: the right-most address that is not itself
/// a trusted proxy; <c>CF-Connecting-IP</c>: its single value). The result replaces
/// <see cref="ConnectionInfo.RemoteIpAddress"/> so logs, <c>X-Real-IP</c> and <c>X-Forwarded-For</c>
/// all carry it.
/// </summary>
public static class ClientAddress
{
    public static IPAddress? Resolve(HttpContext context, GatewaySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(snapshot);
        var peer = context.Connection.RemoteIpAddress;
        if (snapshot.TrustedProxies.Count == 0 || peer is null || !IsTrusted(snapshot, peer))
        {
            return peer;
        }

        var header = context.Request.Headers[snapshot.ClientIpHeader];
        IPAddress? client = null;
        if (snapshot.ClientIpHeader.Equals("CF-Connecting-IP", StringComparison.OrdinalIgnoreCase))
        {
            if (header.Count == 1 && IPAddress.TryParse(header[0], out var single))
            {
                client = single;
            }
        }
        else
        {
            var hops = header.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
            for (var i = hops.Count - 1; i >= 0; i--)
            {
                if (!IPAddress.TryParse(hops[i], out var hop))
                {
                    break; // garbage: stop believing the chain here
                }

                client = hop;
                if (!IsTrusted(snapshot, hop))
                {
                    break;
                }
            }
        }

        if (client is not null)
        {
            context.Connection.RemoteIpAddress = client;
            return client;
        }

        return peer;
    }

    private static bool IsTrusted(GatewaySnapshot snapshot, IPAddress address) => Policy.Networks.Contain(snapshot.TrustedProxies, address);
}
