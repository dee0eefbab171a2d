namespace MtlsGate.Policy;

public enum Outcome
{
    Allow,
    Deny,
    /// <summary>Log-only mode: the request would be denied, is logged as such, and is forwarded.</summary>
    WouldDeny,
}

/// <summary>The outcome of the policy for one request, with the reason when it is not a plain allow.</summary>
public readonly record struct Decision(Outcome Outcome, DenyReason Reason)
{
    public static readonly Decision Allow = new(Outcome.Allow, DenyReason.None);

    public bool Forwards => Outcome != Outcome.Deny;

    public static Decision Deny(DenyReason reason) => new(Outcome.Deny, reason);
}
