using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Policy;

/// <summary>The device inventory's block list reaches the pure evaluator as a fact (<see cref="RequestFacts.DeviceVerdict"/>).</summary>
public sealed class DeviceVerdictTests
{
    private static readonly ClientIdentity Valid = new(TestPki.Instance.Good, DenyReason.None);

    private static CompiledPolicy PolicyWith(Requirement require = Requirement.Certificate, EnforcementMode mode = EnforcementMode.Enforce) =>
        new("Test", "Default", require, mode);

    private static RequestFacts Facts(DenyReason verdict) => RequestFacts.For("GET") with { DeviceVerdict = verdict };

    [Theory]
    [InlineData(DenyReason.Blocked)]
    [InlineData(DenyReason.Revoked)]
    public void A_valid_certificate_of_a_denied_device_is_denied_with_the_inventorys_reason(DenyReason verdict) =>
        Assert.Equal(Decision.Deny(verdict), PolicyEvaluator.Evaluate(Valid, Facts(verdict), PolicyWith()));

    [Fact]
    public void No_verdict_changes_nothing() =>
        Assert.Equal(Decision.Allow, PolicyEvaluator.Evaluate(Valid, Facts(DenyReason.None), PolicyWith()));

    [Fact]
    public void The_chain_verdict_comes_first() =>
        Assert.Equal(Decision.Deny(DenyReason.Expired), PolicyEvaluator.Evaluate(new ClientIdentity(TestPki.Instance.Good, DenyReason.Expired), Facts(DenyReason.Blocked), PolicyWith()));

    [Fact]
    public void Log_only_mode_turns_a_block_into_would_deny() =>
        Assert.Equal(new Decision(Outcome.WouldDeny, DenyReason.Blocked), PolicyEvaluator.Evaluate(Valid, Facts(DenyReason.Blocked), PolicyWith(mode: EnforcementMode.LogOnly)));

    [Fact]
    public void A_route_that_requires_no_certificate_ignores_the_block() =>
        Assert.Equal(Decision.Allow, PolicyEvaluator.Evaluate(Valid, Facts(DenyReason.Blocked), PolicyWith(Requirement.None)));

    [Fact]
    public void Blocked_comes_after_every_earlier_reason_so_the_names_of_the_others_keep_their_numbers() =>
        Assert.True(DenyReason.Blocked > DenyReason.ConnectionLifetimeExceeded && Enum.GetValues<DenyReason>().Max() > DenyReason.ConnectionLifetimeExceeded);
}
