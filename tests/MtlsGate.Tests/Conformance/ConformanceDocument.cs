using System.Globalization;
using System.Text;

namespace MtlsGate.Tests.Conformance;

/// <summary>Renders docs/conformance.md (regenerated with MTLSGATE_WRITE_CONFORMANCE=1).</summary>
public static class ConformanceDocument
{
    public const string DeliberateHeading = "## Deliberate deviations (allow-list)";

    public const string KnownFailuresHeading = "## Known failures (validator bugs and gaps)";

    private const string Introduction = """
        Data: [C2SP x509-limbo](https://github.com/C2SP/x509-limbo) (Apache-2.0), vendored in `tests/MtlsGate.Tests/Conformance/x509-limbo/`
        (source, checksum and the one change, keys removed, in its `SOURCE.md`; a missing file fails the test). Every case runs
        through `ChainValidator.Validate`, the code the gateway runs at the TLS handshake, on .NET 10 / OpenSSL 3.0 (Linux):
        `trusted_certs` are the trust store's roots, `untrusted_intermediates` the client's presented intermediates,
        `peer_certificate` the leaf, `validation_time` (null: now) the instant.

        Regenerate: `MTLSGATE_WRITE_CONFORMANCE=1 dotnet test tests/MtlsGate.Tests --no-build --filter "FullyQualifiedName~Conformance"`.
        Normal runs write nothing. The test fails on any disagreement not listed below, on a listed case that no longer disagrees,
        and when this file does not mirror the two lists in `LimboDeviations.cs`.

        ## Mapping rules

        - **CLIENT** cases (clientAuth EKU) run as limbo states them.
        - **SERVER** cases are mapped to client authentication. Almost every SERVER leaf carries a serverAuth-only EKU, which the
          gateway refuses (`WrongUsage`) - the last check of the validator, after trust, time and structure. So:
          - leaf permits clientAuth (no EKU, or lists it): as limbo (`Accept` / `Reject`);
          - leaf EKU lacks clientAuth, limbo SUCCESS: the verdict must be exactly `WrongUsage` (`WrongUsageOnly`: every other check passed);
          - leaf EKU lacks clientAuth, limbo FAILURE: refused for a chain reason, not `WrongUsage` (`RejectForChainReason`).
            `WrongUsage` here means the defect the case tests went unnoticed, so it counts as a disagreement;
          - EKU cases (`::eku::`) whose leaf lacks clientAuth: `Reject` (WrongUsage is the right reason);
          - `rfc5280::eku::ee-wrong-eku` (leaf EKU clientAuth only): limbo FAILURE for serverAuth, mapped to `Accept`.
        - **CRL cases** (`crls`, feature `has-crl`) run through the gateway's revocation code. Each CRL is loaded as the config
          loader (`ConfigCompiler.LoadCrl`) loads a trust store's CRL file: `CertificateRevocationList.Parse`, then `Verify`
          (issuer name, signature, thisUpdate not in the future) against the first CA of the case that fits (`trusted_certs`,
          then `untrusted_intermediates`), at `validation_time`; one CRL per CA. A CRL the loader refuses is a configuration
          error (startup fails, a reload is rejected), so the certificate can never be accepted: the case counts as refused, for
          a reason that is not `WrongUsage`. Loaded CRLs form the store's `Revocation` (no deny-lists, `StaleCrlGrace` 0);
          `ChainValidator` checks every certificate of the built chain but the root against its issuer's CRL (`Revoked`), and a
          CRL past nextUpdate at `validation_time` is `RevocationUnknown`. The EKU mapping above applies as to any case.
        - **Skipped, with a reason each**: server host names (SAN/CN matching against `expected_peer_name`, DNS and IP name
          constraints); two EKU cases only about serverAuth; `max_chain_depth` limits (no such gateway setting; the other
          max-depth cases run without the limit).
        - `signature_algorithms` is empty in every case (a non-empty list would be skipped: no algorithm allow-list);
          `key_usage` ([digitalSignature], two cases) is not a validator input: the harness checks the leaf carries it and runs the case.
        - A certificate the platform cannot parse counts as a refusal; an exception thrown by the validator is always a disagreement.

        ## Trust anchors that are not self-signed

        They do not work with `CustomRootTrust` on Linux: .NET/OpenSSL does not stop at a configured anchor that is not
        self-signed. It builds on to a presented self-signed root (`UntrustedRoot`, `rfc5280::root-and-intermediate-swapped`) or
        stops without one (`PartialChain`, `cve::cve-2024-0567`), and `IsAnchoredInStore` only accepts a configured certificate at
        the top of the chain. The gateway fails closed (`Untrusted`); see the known failures.

        """;

    public static string Render(IReadOnlyList<LimboResult> results, DateTimeOffset generated)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        text.AppendLine("# x509-limbo conformance");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Generated {generated:yyyy-MM-dd} by `LimboConformanceTests` ({LimboConformanceTests.WriteVariable}=1).");
        text.AppendLine();
        text.Append(Introduction);
        text.AppendLine();
        text.AppendLine("## Summary");
        text.AppendLine();
        text.Append(ConformanceReport.Summary(results));
        text.AppendLine();
        text.AppendLine(DeliberateHeading);
        text.AppendLine();
        text.Append(ConformanceReport.ListTable(LimboDeviations.Deliberate));
        text.AppendLine();
        text.AppendLine(KnownFailuresHeading);
        text.AppendLine();
        text.Append(ConformanceReport.ListTable(LimboDeviations.KnownFailures));
        text.AppendLine();
        text.AppendLine("## Disagreements");
        text.AppendLine();
        text.Append(ConformanceReport.Disagreements(results));
        text.AppendLine();
        text.AppendLine("## CRL cases");
        text.AppendLine();
        text.Append(ConformanceReport.CrlCases(results));
        text.AppendLine();
        text.AppendLine("## Skips");
        text.AppendLine();
        text.Append(ConformanceReport.Skips(results));
        text.AppendLine();
        text.AppendLine("## Every case");
        text.AppendLine();
        text.Append(ConformanceReport.AllCases(results));
        return text.ToString();
    }
}
