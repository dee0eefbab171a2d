namespace MtlsGate.Policy;

/// <summary>
/// The decision, as a pure function of facts: no HttpContext, no I/O, no clock.
/// The chain verdict in <see cref="ClientIdentity"/> was computed at the handshake against the
/// trust material of that moment.
/// </summary>
public static class PolicyEvaluator
{
    public static Decision Evaluate(ClientIdentity identity, CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(policy);

        var reason = policy.Require switch
        {
            Requirement.None => DenyReason.None,
            _ => identity.ChainVerdict,
        };

        if (reason == DenyReason.None)
        {
            return Decision.Allow;
        }

        return policy.Mode == EnforcementMode.LogOnly
            ? new Decision(Outcome.WouldDeny, reason)
            : Decision.Deny(reason);
    }
}
