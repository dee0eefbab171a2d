using MtlsGate.Configuration;
using MtlsGate.Denials;
using MtlsGate.Policy;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Policy;

public sealed class PolicyEvaluatorTests
{
    private static CompiledPolicy PolicyWith(Requirement require = Requirement.Certificate, EnforcementMode mode = EnforcementMode.Enforce) =>
        new("Test", "Default", require, mode);

    public static TheoryData<DenyReason> EveryChainReason => new()
    {
        DenyReason.NoCertificate, DenyReason.Untrusted, DenyReason.Expired, DenyReason.NotYetValid,
        DenyReason.WrongUsage, DenyReason.InvalidChain, DenyReason.Revoked,
    };

    [Fact]
    public void Evaluate_ValidCertificate_Allows()
    {
        var identity = new ClientIdentity(TestPki.Instance.Good, DenyReason.None);

        Assert.Equal(Decision.Allow, PolicyEvaluator.Evaluate(identity, PolicyWith()));
    }

    [Theory]
    [MemberData(nameof(EveryChainReason))]
    public void Evaluate_InvalidCertificate_DeniesWithTheChainReason(DenyReason reason)
    {
        var identity = reason == DenyReason.NoCertificate ? ClientIdentity.None : new ClientIdentity(TestPki.Instance.Good, reason);

        Assert.Equal(Decision.Deny(reason), PolicyEvaluator.Evaluate(identity, PolicyWith()));
    }

    [Fact]
    public void Evaluate_NoCertificate_OnAPublicPolicy_Allows()
    {
        Assert.Equal(Decision.Allow, PolicyEvaluator.Evaluate(ClientIdentity.None, PolicyWith(Requirement.None)));
    }

    [Fact]
    public void Evaluate_LogOnlyMode_WouldDenyAndForwards()
    {
        var decision = PolicyEvaluator.Evaluate(ClientIdentity.None, PolicyWith(mode: EnforcementMode.LogOnly));

        Assert.Equal(new Decision(Outcome.WouldDeny, DenyReason.NoCertificate), decision);
        Assert.True(decision.Forwards);
    }

    [Fact]
    public void ClientIdentity_WithoutCertificate_IsNoCertificateWhateverTheVerdict()
    {
        Assert.Equal(DenyReason.NoCertificate, new ClientIdentity(null, DenyReason.None).ChainVerdict);
    }

    [Fact]
    public void ResponseFor_ReasonWithOverride_UsesIt_OtherReasons_UseDeny()
    {
        var policy = DenialResponses.From(PolicyDenials.Default with { ByReason = new Dictionary<DenyReason, DenySettings> { [DenyReason.Revoked] = DenySettings.CloseConnection } });

        Assert.Same(DenialResponse.CloseConnection, policy.ResponseFor(DenyReason.Revoked));
        Assert.Same(DenialResponse.NotFound, policy.ResponseFor(DenyReason.Expired));
    }
}
