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

/// <summary>Enum names computed once, for log lines and metric labels: no enum is formatted per request.</summary>
public static class Names
{
    private static readonly string[] Outcomes = Enum.GetNames<Outcome>();
    private static readonly string[] Reasons = Enum.GetNames<DenyReason>();

    public static string Of(Outcome outcome) => Outcomes[(int)outcome];

    public static string Of(DenyReason reason) => Reasons[(int)reason];
}
