using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using MtlsGate.Policy;

namespace MtlsGate.Logging;

/// <summary>
/// The gateway's meter (<c>MtlsGate</c>, <see cref="System.Diagnostics.Metrics"/>) and the two
/// instruments recorded on the request path, by the listener and the deciding middleware; it sits on
/// a low floor so both can record. The instruments that read state (reloads, expiry, CRLs, backends)
/// and the Prometheus export are added by <c>Management.GatewayMetrics</c>.
/// Labels are bounded: route ids, decisions and reasons come from the configuration or fixed enums.
/// </summary>
public sealed class GatewayMeter : IDisposable
{
    public const string MeterName = "MtlsGate";

    private readonly Counter<long> _connections;

    // Requests are counted in place, one cell per (route, decision, reason), and reported when the
    // metrics are collected: a Counter<T>.Add per request ran the listeners' callbacks (prometheus-net's
    // adapter, label lookup, locks) on every request, about 1% of the gateway's CPU at keep-alive.
    // Routes come from the configuration, so the cells are bounded.
    private readonly ConcurrentDictionary<RequestKey, StrongBox<long>> _requests = new();

    // Requests whose certificate an edge forwarded (MtlsGate:Edges), by edge, decision and reason.
    private readonly ConcurrentDictionary<ForwardedKey, StrongBox<long>> _forwarded = new();

    public GatewayMeter()
    {
        Meter = new Meter(MeterName);
        Meter.CreateObservableCounter("requests", () => _requests.Select(cell => new Measurement<long>(Volatile.Read(ref cell.Value.Value),
                new KeyValuePair<string, object?>("route", cell.Key.Route),
                new KeyValuePair<string, object?>("decision", Names.Of(cell.Key.Decision)),
                new KeyValuePair<string, object?>("reason", Names.Of(cell.Key.Reason)))),
            description: "Requests by route, decision (Allow, Deny, WouldDeny) and reason.");
        Meter.CreateObservableCounter("forwarded.requests", () => _forwarded.Select(cell => new Measurement<long>(Volatile.Read(ref cell.Value.Value),
                new KeyValuePair<string, object?>("edge", cell.Key.Edge),
                new KeyValuePair<string, object?>("decision", Names.Of(cell.Key.Decision)),
                new KeyValuePair<string, object?>("reason", Names.Of(cell.Key.Reason)))),
            description: "Requests whose client certificate an edge forwarded (MtlsGate:Edges), by edge, decision and reason.");
        _connections = Meter.CreateCounter<long>("tls.connections", description: "TLS connections by client-certificate verdict (None = valid).");
    }

    /// <summary>The meter the other instruments are created on.</summary>
    public Meter Meter { get; }

    /// <summary>Counts a decided request.</summary>
    /// <param name="route">The route id (or "(none)").</param>
    /// <param name="decision">The outcome.</param>
    /// <param name="reason">The deny reason (None when allowed).</param>
    /// <param name="source">The identity's source: <c>direct</c>, or the edge that forwarded it (also counted in <c>forwarded.requests</c>).</param>
    public void RecordRequest(string route, Outcome decision, DenyReason reason, string source = ClientIdentity.Direct)
    {
        Interlocked.Increment(ref _requests.GetOrAdd(new RequestKey(route, decision, reason), static _ => new StrongBox<long>()).Value);
        if (source != ClientIdentity.Direct)
        {
            // Edge names come from the configuration: bounded.
            Interlocked.Increment(ref _forwarded.GetOrAdd(new ForwardedKey(source, decision, reason), static _ => new StrongBox<long>()).Value);
        }
    }

    public void RecordConnection(DenyReason verdict) =>
        _connections.Add(1, new KeyValuePair<string, object?>("verdict", Names.Of(verdict)));

    public void Dispose() => Meter.Dispose();

    private readonly record struct ForwardedKey(string Edge, Outcome Decision, DenyReason Reason);

    private readonly record struct RequestKey(string Route, Outcome Decision, DenyReason Reason);
}
