using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Tls;

namespace MtlsGate.Hosting;

/// <summary>
/// Where edges (<c>MtlsGate:Edges</c>) meet Kestrel: the loopback plain-HTTP listener of each tunnel
/// edge, and the recognition of an edge on the gateway's TLS listener (its pinned certificate, or its
/// address). A connection that is an edge carries an <see cref="EdgeConnection"/> feature; the deciding
/// middleware then takes each request's identity from the edge's headers. Every other connection's
/// forwarded headers are stripped by the proxy and never read.
/// </summary>
public static class EdgeListeners
{
    /// <summary>Adds a listener per edge with <c>Listen</c> (after the management listener, so it stays the first plain-HTTP address).</summary>
    public static void Configure(KestrelServerOptions kestrel, GatewayState state, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(state);
        var logger = Logger(kestrel.ApplicationServices);
        foreach (var edge in state.Current.Edges.All)
        {
            if (edge.Listen is not { } listen)
            {
                Log.EdgeConfigured(logger, edge.Name, edge.PinnedCertificates.Count, edge.TrustedProxies.Count, edge.Format.ToString());
                continue;
            }

            Log.EdgeListening(logger, edge.Name, listen.Url, edge.Format.ToString());
            var name = edge.Name;
            void Configure(ListenOptions options)
            {
                // cloudflared and most connectors speak HTTP/1.1 to a plain-HTTP origin.
                options.Protocols = HttpProtocols.Http1;
                options.Use(next => connection => AcceptTunnel(connection, name, state, time, logger) ? next(connection) : Task.CompletedTask);
            }

            if (listen.Address is null)
            {
                kestrel.ListenLocalhost(listen.Port, Configure);
            }
            else
            {
                kestrel.Listen(new IPEndPoint(listen.Address, listen.Port), Configure);
            }
        }
    }

    /// <summary>
    /// On the gateway's TLS listener, after the handshake: a connection that presented an edge's pinned
    /// certificate is that edge (refused when the edge also lists addresses and the peer is not in
    /// them); a connection from an address-only edge's networks is that edge. Returns false to refuse.
    /// </summary>
    public static bool AttachToTlsConnection(ConnectionContext connection, ConnectionIdentityFeature feature, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(feature);
        if (feature.Edges.IsEmpty)
        {
            return true;
        }

        var peer = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (feature.PinnedEdge is { } pinned)
        {
            if (!pinned.AllowsAddress(peer))
            {
                Log.EdgeConnectionRefused(logger, connection.ConnectionId, peer?.ToString() ?? "-", $"it presented the pinned certificate of edge '{pinned.Name}' from an address outside its TrustedProxies");
                return false;
            }

            connection.Features.Set(new EdgeConnection(pinned, time));
            return true;
        }

        if (feature.Edges.ByAddress(peer) is { } byAddress)
        {
            connection.Features.Set(new EdgeConnection(byAddress, time));
        }

        return true;
    }

    /// <summary>A tunnel listener's connection: a loopback peer (and, when listed, one of the edge's addresses) of an edge that still has a listener.</summary>
    private static bool AcceptTunnel(ConnectionContext connection, string name, GatewayState state, TimeProvider time, ILogger logger)
    {
        var peer = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        var edge = state.Current.Edges.Named(name);
        string? why = edge is null || edge.Listen is null ? $"edge '{name}' no longer has a listener (the configuration changed; restart to close it)"
            : peer is null || !IPAddress.IsLoopback(peer) ? $"edge '{name}' listener accepts loopback peers only"
            : !edge.AllowsAddress(peer) ? $"the peer is not in edge '{name}' TrustedProxies"
            : null;
        if (why is not null)
        {
            Log.EdgeConnectionRefused(logger, connection.ConnectionId, peer?.ToString() ?? "-", why);
            connection.Abort(new ConnectionAbortedException("Not an edge."));
            return false;
        }

        // No TLS here: the connection has no identity of its own (its requests carry the clients'), and
        // the same per-connection feature lets a denial close it and time limits apply.
        connection.Features.Set(new ConnectionIdentityFeature(connection, EmptyTrustStore.Instance, rejectAtHandshake: false, time));
        connection.Features.Set(new EdgeConnection(edge!, time));
        return true;
    }

    private static ILogger Logger(IServiceProvider services) =>
        services.GetService<ILoggerFactory>()?.CreateLogger("MtlsGate.Edges") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
}
