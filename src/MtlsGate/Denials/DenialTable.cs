using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using MtlsGate.Configuration;
using MtlsGate.Policy;

namespace MtlsGate.Denials;

/// <summary>One policy's denial responses: its <c>Deny</c> and its <c>DenyByReason</c> overrides, encoded.</summary>
public sealed class DenialResponses
{
    private readonly FrozenDictionary<DenyReason, DenialResponse> _byReason;

    private DenialResponses(DenialResponse deny, FrozenDictionary<DenyReason, DenialResponse> byReason)
    {
        Deny = deny;
        _byReason = byReason;
    }

    /// <summary>The policy's <c>Deny</c>.</summary>
    public DenialResponse Deny { get; }

    public static DenialResponses From(PolicyDenials denials)
    {
        ArgumentNullException.ThrowIfNull(denials);
        return new DenialResponses(
            DenialResponse.From(denials.Deny),
            denials.ByReason.ToFrozenDictionary(pair => pair.Key, pair => DenialResponse.From(pair.Value)));
    }

    /// <summary>The response for a denial with this reason: the per-reason override, else 421 for a host mismatch, else <see cref="Deny"/>.</summary>
    public DenialResponse ResponseFor(DenyReason reason) =>
        _byReason.Count != 0 && _byReason.TryGetValue(reason, out var response) ? response
        : reason == DenyReason.HostMismatch ? DenialResponse.MisdirectedRequest
        : Deny;
}

/// <summary>
/// The denial responses of one snapshot, built from its validated deny settings
/// (<see cref="GatewaySnapshot.Denials"/>) the first time the snapshot denies, then reused: no
/// encoding or allocation per denied request. Held beside the snapshot (a weak table), so it lives
/// exactly as long as the snapshot does.
/// </summary>
public sealed class DenialTable
{
    private static readonly ConditionalWeakTable<GatewaySnapshot, DenialTable> Tables = new();

    private readonly FrozenDictionary<string, DenialResponses> _byPolicy;
    private readonly DenialResponses _fallback;

    private DenialTable(GatewaySnapshot snapshot)
    {
        _byPolicy = snapshot.Denials.ToFrozenDictionary(pair => pair.Key, pair => DenialResponses.From(pair.Value), StringComparer.OrdinalIgnoreCase);
        _fallback = _byPolicy.TryGetValue(snapshot.DefaultPolicy.Name, out var fallback) ? fallback : DenialResponses.From(snapshot.DenialsFor(snapshot.DefaultPolicy));
    }

    /// <summary>The table of <paramref name="snapshot"/> (built once; reads take no lock).</summary>
    public static DenialTable For(GatewaySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return Tables.TryGetValue(snapshot, out var table) ? table : Tables.GetValue(snapshot, static s => new DenialTable(s));
    }

    /// <summary>The responses of <paramref name="policy"/>, as <see cref="GatewaySnapshot.DenialsFor"/> picks its settings.</summary>
    public DenialResponses For(CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return _byPolicy.TryGetValue(policy.Name, out var own) ? own : _fallback;
    }
}
