using System.Security.Cryptography.X509Certificates;
using MtlsGate.Policy;

namespace MtlsGate.Tests.Conformance;

/// <summary>
/// The harness's CRL loading mirrors ConfigCompiler.LoadCrl. No limbo case has a CRL the loader refuses, so the refusal
/// path is checked here with limbo's own material recombined.
/// </summary>
public sealed class LimboCrlLoadingTests
{
    private static readonly DateTimeOffset At = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static LimboCase Case(string id) => LimboData.Load().Testcases.Single(c => c.Id == id);

    [Fact]
    public void A_crl_whose_issuer_is_no_ca_of_the_case_is_refused()
    {
        var testCase = Case("crl::certificate-serial-on-crl-different-issuer");
        using var rootCa1 = X509Certificate2.CreateFromPem(testCase.TrustedCerts[0]);

        var crls = LimboRunner.LoadCrls(testCase.Crls, [rootCa1], At, out var refusal);

        Assert.Null(crls);
        Assert.Contains("no CA of the case has that name", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void A_crl_signed_by_another_key_under_the_same_name_is_refused()
    {
        var revoked = Case("crl::revoked-certificate-with-crl");
        using var otherRoot = X509Certificate2.CreateFromPem(Case("crl::certificate-not-on-crl").TrustedCerts[0]);

        var crls = LimboRunner.LoadCrls(revoked.Crls, [otherRoot], At, out var refusal);

        Assert.Null(crls);
        Assert.Contains("signature does not verify", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_crls_for_one_ca_are_refused_and_one_loads()
    {
        var testCase = Case("crl::revoked-certificate-with-crl");
        using var root = X509Certificate2.CreateFromPem(testCase.TrustedCerts[0]);

        Assert.Null(LimboRunner.LoadCrls([testCase.Crls[0], testCase.Crls[0]], [root], At, out var refusal));
        Assert.Contains("several CRLs", refusal, StringComparison.Ordinal);
        Assert.Single(LimboRunner.LoadCrls(testCase.Crls, [root], At, out _)!);
    }

    [Fact]
    public void A_refused_crl_counts_as_a_refusal_that_is_not_wrong_usage()
    {
        var testCase = Case("crl::certificate-not-on-crl") with { Crls = [Case("crl::revoked-certificate-with-crl").Crls[0]] };

        var result = LimboRunner.Run(testCase, At);

        Assert.StartsWith("configuration refused:", result.Verdict, StringComparison.Ordinal);
        Assert.Equal(Outcome.Disagree, result.Outcome); // limbo SUCCESS (WrongUsageOnly) cannot hold once the configuration is refused
        Assert.True(LimboRunner.Agrees(Expectation.RejectForChainReason, null));
        Assert.False(LimboRunner.Agrees(Expectation.RejectForChainReason, DenyReason.WrongUsage));
    }
}
