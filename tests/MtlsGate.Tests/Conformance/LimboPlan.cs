using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tests.Conformance;

/// <summary>What the gateway's verdict must be for the case to count as agreeing with x509-limbo.</summary>
public enum Expectation
{
    /// <summary>Accepted: <c>DenyReason.None</c>.</summary>
    Accept,

    /// <summary>Refused, for any reason.</summary>
    Reject,

    /// <summary>
    /// Refused for a chain reason, not <c>WrongUsage</c>: limbo expects FAILURE for a defect of the chain, and the
    /// leaf lacks clientAuth. A <c>WrongUsage</c> verdict means the defect went unnoticed and only the EKU saved us.
    /// </summary>
    RejectForChainReason,

    /// <summary>
    /// Refused with exactly <c>WrongUsage</c>: limbo expects SUCCESS for a serverAuth-only leaf. Under the clientAuth
    /// mapping every other check must pass, so the one reason left is the missing clientAuth EKU.
    /// </summary>
    WrongUsageOnly,
}

/// <summary>Why a case is not run.</summary>
public enum SkipGroup
{
    /// <summary>Server host names: SAN/CN matching against expected_peer_name, DNS/IP name constraints.</summary>
    HostName,

    /// <summary>The case is about the serverAuth EKU itself; under the clientAuth mapping it tests nothing.</summary>
    ServerAuthOnly,

    /// <summary>A verifier parameter the gateway does not have (max_chain_depth, signature_algorithms, key_usage).</summary>
    VerifierParameter,
}

/// <summary>The plan for one case: skipped with a reason, or run with a mapped expectation.</summary>
public sealed record LimboPlan(SkipGroup? Skip, string Reason, Expectation Expectation)
{
    public static LimboPlan Skipped(SkipGroup group, string reason) => new(group, reason, Expectation.Reject);

    public static LimboPlan Run(Expectation expectation, string mapping) => new(null, mapping, expectation);

    public bool IsSkipped => Skip is not null;
}

/// <summary>
/// The mapping rules from x509-limbo to the gateway's client-certificate validator: which cases run, which are skipped
/// and why, and what verdict each run case must produce.
/// </summary>
public static class LimboMapping
{
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>How the CRLs of a case (limbo's <c>crls</c>) reach the gateway's revocation code; part of every CRL case's plan.</summary>
    public const string CrlMapping =
        "CRLs as the gateway's config loader (ConfigCompiler.LoadCrl) takes them: each must parse and verify (issuer name, signature, " +
        "thisUpdate not in the future) against a CA of the case (trusted_certs, then untrusted_intermediates) at validation_time, " +
        "at most one per CA; a CRL the loader refuses is a configuration error (the reload is rejected), so the certificate can " +
        "never be accepted: counted as a refusal that is not WrongUsage. Loaded CRLs go into the trust store's Revocation " +
        "(deny-lists empty, StaleCrlGrace 0) and ChainValidator checks every certificate but the root against its issuer's CRL " +
        "(Revoked; past nextUpdate at validation_time: RevocationUnknown)";

    private const string HostNameMatching =
        "server host name: SAN/CN matching against expected_peer_name; the gateway does not match host names for client certificates";

    private const string DnsNameConstraints =
        "server host name: name constraints on DNS names (the case is decided by dNSName constraints against server names)";

    private const string IpNameConstraints =
        "server host name: name constraints on IP addresses (the case is decided by iPAddress constraints against server IP names)";

    /// <summary>Cases skipped by id, each with its reason (checked: every id exists in the data).</summary>
    public static readonly IReadOnlyDictionary<string, (SkipGroup Group, string Reason)> SkippedById =
        new Dictionary<string, (SkipGroup, string)>(StringComparer.Ordinal)
        {
            ["rfc5280::san::underscore-dns"] = (SkipGroup.HostName, "server host name: dNSName syntax (preferred name syntax) only matters for host-name matching"),
            ["rfc5280::san::ip-in-dns"] = (SkipGroup.HostName, "server host name: an IP address in a dNSName only matters for host-name matching"),
            ["rfc5280::ca-as-leaf-wrong-san"] = (SkipGroup.HostName, "server host name: fails only because the SAN does not match expected_peer_name"),
            ["cve::cve-2025-61727"] = (SkipGroup.HostName, DnsNameConstraints + " (wildcard dNSName SAN vs excluded subtree)"),
            ["cve::cve-2025-61727-nc-permits-variant"] = (SkipGroup.HostName, DnsNameConstraints + " (wildcard dNSName SAN vs permitted subtree)"),
            ["webpki::eku::ee-critical-eku"] = (SkipGroup.ServerAuthOnly,
                "serverAuth dimension: tests that a critical serverAuth-only EKU is refused by a Web PKI verifier; under clientAuth the leaf is refused for lacking clientAuth whatever the criticality"),
            ["webpki::eku::root-has-eku"] = (SkipGroup.ServerAuthOnly,
                "serverAuth dimension: tests an EKU (serverAuth) in the root under the Web PKI profile; the serverAuth-only leaf is refused under clientAuth before the root's EKU matters"),
            ["pathlen::max-chain-depth-0-exhausted"] = (SkipGroup.VerifierParameter,
                "verifier parameter: max_chain_depth=0 is a limit chosen by the verifier; the gateway has no chain-depth setting, and the chain itself is valid"),
            ["pathlen::max-chain-depth-1-exhausted"] = (SkipGroup.VerifierParameter,
                "verifier parameter: max_chain_depth=1 is a limit chosen by the verifier; the gateway has no chain-depth setting, and the chain itself is valid"),
        };

    /// <summary>Name-constraint cases that are not decided by DNS/IP names, so they run.</summary>
    private static readonly HashSet<string> NameConstraintCasesThatRun = new(StringComparer.Ordinal)
    {
        "rfc5280::nc::not-allowed-in-ee-noncritical",
        "rfc5280::nc::not-allowed-in-ee-critical",
        "rfc5280::nc::nc-forbids-othername",
        "rfc5280::nc::nc-forbids-othername-noop",
        "webpki::nc::intermediate-permitted-excluded-subtrees-both-null",
        "webpki::nc::intermediate-permitted-excluded-subtrees-both-empty-sequences",
    };

    private static readonly HashSet<string> IpNameConstraintCases = new(StringComparer.Ordinal)
    {
        "rfc5280::nc::permitted-ip-mismatch",
        "rfc5280::nc::excluded-ipv4-match",
        "rfc5280::nc::excluded-ipv6-match",
        "rfc5280::nc::permitted-ipv4-match",
        "rfc5280::nc::permitted-ipv6-match",
        "rfc5280::nc::invalid-ipv4-address",
        "rfc5280::nc::invalid-ipv6-address",
        "rfc5280::nc::nc-permits-invalid-ip-san",
    };

    /// <summary>
    /// SERVER cases whose EKU expectation is mapped to clientAuth by hand: the verdict limbo expects for serverAuth is
    /// not the one a clientAuth verifier must give.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (Expectation Expectation, string Mapping)> EkuMappedById =
        new Dictionary<string, (Expectation, string)>(StringComparer.Ordinal)
        {
            ["rfc5280::eku::ee-wrong-eku"] = (Expectation.Accept,
                "limbo FAILURE because the leaf's only EKU is clientAuth and the verifier wants serverAuth; mapped to clientAuth the same leaf must be accepted"),
        };

    public static LimboPlan Plan(LimboCase testCase, X509Certificate2? leaf)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var id = testCase.Id;

        if (SkippedById.TryGetValue(id, out var skip))
        {
            return LimboPlan.Skipped(skip.Group, skip.Reason);
        }

        if (id.StartsWith("webpki::san::", StringComparison.Ordinal) || id.StartsWith("webpki::cn::", StringComparison.Ordinal))
        {
            return LimboPlan.Skipped(SkipGroup.HostName, HostNameMatching);
        }

        var nameConstraintCase = id.StartsWith("rfc5280::nc::", StringComparison.Ordinal) || id.StartsWith("webpki::nc::", StringComparison.Ordinal);
        if (nameConstraintCase && !testCase.IsClient && !NameConstraintCasesThatRun.Contains(id) && !testCase.Features.Contains("name-constraint-dn"))
        {
            return LimboPlan.Skipped(SkipGroup.HostName, IpNameConstraintCases.Contains(id) ? IpNameConstraints : DnsNameConstraints);
        }

        if (testCase.SignatureAlgorithms.Count > 0)
        {
            return LimboPlan.Skipped(SkipGroup.VerifierParameter,
                "verifier parameter: signature_algorithms allow-list; the gateway has no algorithm allow-list");
        }

        var notes = new List<string>();
        if (IsCrlCase(testCase))
        {
            notes.Add(CrlMapping);
        }

        if (testCase.KeyUsage.Count > 0)
        {
            if (leaf is null || !LeafHasKeyUsages(leaf, testCase.KeyUsage))
            {
                return LimboPlan.Skipped(SkipGroup.VerifierParameter,
                    $"verifier parameter: key_usage [{string.Join(", ", testCase.KeyUsage)}] required of the leaf; the gateway does not check the leaf's key usage");
            }

            notes.Add($"key_usage [{string.Join(", ", testCase.KeyUsage)}] is present in the leaf (checked by the harness)");
        }

        if (testCase.MaxChainDepth is { } depth)
        {
            notes.Add($"max_chain_depth={depth} not applied (no such gateway setting); the chain's own validity decides");
        }

        var (expectation, mapping) = MapExpectation(testCase, leaf);
        notes.Insert(0, mapping);
        return LimboPlan.Run(expectation, string.Join("; ", notes));
    }

    private static (Expectation, string) MapExpectation(LimboCase testCase, X509Certificate2? leaf)
    {
        if (testCase.IsClient)
        {
            return testCase.ExpectsSuccess
                ? (Expectation.Accept, "CLIENT: as limbo")
                : (Expectation.Reject, "CLIENT: as limbo");
        }

        if (EkuMappedById.TryGetValue(testCase.Id, out var mapped))
        {
            return mapped;
        }

        if (leaf is null || LeafPermitsClientAuth(leaf))
        {
            return testCase.ExpectsSuccess
                ? (Expectation.Accept, "SERVER: leaf permits clientAuth (no EKU or lists it): as limbo")
                : (Expectation.Reject, "SERVER: leaf permits clientAuth (no EKU or lists it): as limbo");
        }

        if (testCase.ExpectsSuccess)
        {
            return (Expectation.WrongUsageOnly,
                "SERVER, leaf EKU lacks clientAuth: limbo SUCCESS maps to WrongUsage and nothing else (all other checks must pass)");
        }

        return testCase.Id.Contains("::eku::", StringComparison.Ordinal)
            ? (Expectation.Reject, "SERVER EKU case, leaf EKU lacks clientAuth: refused (WrongUsage is the right reason)")
            : (Expectation.RejectForChainReason,
                "SERVER, leaf EKU lacks clientAuth: limbo FAILURE must be refused for a chain reason, not only WrongUsage");
    }

    /// <summary>A case about revocation: it carries CRLs (or says it does).</summary>
    public static bool IsCrlCase(LimboCase testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        return testCase.Crls.Count > 0 || testCase.Features.Contains("has-crl") || testCase.Id.StartsWith("crl::", StringComparison.Ordinal);
    }

    /// <summary>The harness's own reading of RFC 5280 §4.2.1.12 for client authentication (no EKU, or clientAuth listed).</summary>
    public static bool LeafPermitsClientAuth(X509Certificate2 leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        var eku = leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        return eku is null || eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(o => o.Value == ClientAuthOid);
    }

    private static bool LeafHasKeyUsages(X509Certificate2 leaf, IReadOnlyList<string> required)
    {
        var ku = leaf.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (ku is null)
        {
            return false;
        }

        foreach (var name in required)
        {
            var flag = name switch
            {
                "digitalSignature" => X509KeyUsageFlags.DigitalSignature,
                "contentCommitment" => X509KeyUsageFlags.NonRepudiation,
                "keyEncipherment" => X509KeyUsageFlags.KeyEncipherment,
                "dataEncipherment" => X509KeyUsageFlags.DataEncipherment,
                "keyAgreement" => X509KeyUsageFlags.KeyAgreement,
                "keyCertSign" => X509KeyUsageFlags.KeyCertSign,
                "cRLSign" => X509KeyUsageFlags.CrlSign,
                "encipherOnly" => X509KeyUsageFlags.EncipherOnly,
                "decipherOnly" => X509KeyUsageFlags.DecipherOnly,
                _ => X509KeyUsageFlags.None,
            };
            if (flag == X509KeyUsageFlags.None || (ku.KeyUsages & flag) == 0)
            {
                return false;
            }
        }

        return true;
    }
}
