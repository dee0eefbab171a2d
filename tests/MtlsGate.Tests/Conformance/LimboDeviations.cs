namespace MtlsGate.Tests.Conformance;

/// <summary>
/// Every disagreement with x509-limbo must be listed here, with its reason; docs/conformance.md mirrors both lists.
/// A listed case that stops disagreeing fails the test too, so the lists cannot go stale.
/// </summary>
public static class LimboDeviations
{
    private const string NotAfterExclusive =
        "notAfter is exclusive (t >= notAfter is Expired), as OpenSSL judges it on Linux and in nginx/HAProxy (the platform status " +
        "reports NotTimeValid too); RFC 5280 4.1.2.5 reads it as inclusive. We follow the platform so the handshake and every other " +
        "path agree; this fails closed by one second (ChainValidator remarks).";

    private const string OnlyRootsAreAnchors =
        "Trust anchors are self-signed roots only: the gateway's CA bundle must hold at least one root, and a non-self-signed CA in it " +
        "is an intermediate (a path helper), never an anchor; the chain must end at a configured root. So a chain that stops at a " +
        "configured non-self-signed 'anchor' is refused (Untrusted). Fails closed; pinning trust to an intermediate is not offered.";

    /// <summary>Deliberate deviations: our verdict is the safer one, or the one the gateway intends (RFC 5280, not the Web PKI profile).</summary>
    public static readonly IReadOnlyDictionary<string, string> Deliberate = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["rfc5280::validity::notafter-exact"] = NotAfterExclusive,
        ["rfc5280::validity::notafter-fractional"] = NotAfterExclusive + " At notAfter + 5 ms we do not truncate the validation time to whole seconds.",
        ["webpki::eku::ee-without-eku"] =
            "A leaf without an EKU extension is accepted for client authentication, as RFC 5280 4.2.1.12 reads 'no restriction'. " +
            "limbo marks this case conflicts_with rfc5280::eku::ee-without-eku (SUCCESS), which we agree with; the Web PKI rule is for servers.",
        ["cve::cve-2024-0567"] = OnlyRootsAreAnchors,
        ["rfc5280::root-and-intermediate-swapped"] = OnlyRootsAreAnchors,
        ["webpki::ca-as-leaf"] =
            "A CA certificate (cA=TRUE, no EKU) presented as the client certificate is accepted, per RFC 5280: limbo marks this case " +
            "conflicts_with rfc5280::ca-as-leaf (SUCCESS), which we agree with. CABF 7.1.2.7 is a Web PKI issuance rule; the holder of a " +
            "CA key could issue itself a leaf anyway, so refusing gains nothing.",
    };

    private static string Gap(string what) =>
        "GAP (profile strictness, low risk): OpenSSL builds and accepts the chain (refused here only because the leaf lacks clientAuth, " +
        $"so a clientAuth leaf with the same defect would pass). {what} RFC 5280 section 6 path validation does not require verifiers to " +
        "check it. Fix if wanted: an optional strict-profile pass in ChainValidator over chain elements returning InvalidChain.";

    /// <summary>Known failures: validator bugs (BUG) and profile gaps (GAP), kept visible until fixed. Each entry names the fix.</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownFailures = new Dictionary<string, string>(StringComparer.Ordinal)
    {



        ["rfc5280::aki::leaf-missing-aki"] = Gap("The leaf has no authorityKeyIdentifier (RFC 5280 4.2.1.1 MUST for issuers)."),
        ["rfc5280::aki::intermediate-missing-aki"] = Gap("The intermediate has no authorityKeyIdentifier (RFC 5280 4.2.1.1)."),
        ["webpki::aki::root-with-aki-missing-keyidentifier"] = Gap("The root's authorityKeyIdentifier lacks keyIdentifier (CABF)."),
        ["rfc5280::ski::root-missing-ski"] = Gap("The root has no subjectKeyIdentifier (RFC 5280 4.2.1.2 MUST for CAs)."),
        ["rfc5280::ski::intermediate-missing-ski"] = Gap("The intermediate has no subjectKeyIdentifier (RFC 5280 4.2.1.2)."),
        ["rfc5280::serial::too-long"] = Gap("The leaf's serial number is longer than 20 octets (RFC 5280 4.1.2.2; limbo feature pedantic-serial-number)."),
        ["rfc5280::serial::zero"] = Gap("The leaf's serial number is 0 (RFC 5280 4.1.2.2; limbo feature pedantic-serial-number)."),
        ["rfc5280::nc::not-allowed-in-ee-critical"] = Gap("The leaf carries a (critical) nameConstraints extension, which only CAs may carry (RFC 5280 4.2.1.10)."),
        ["rfc5280::nc::not-allowed-in-ee-noncritical"] = Gap("The leaf carries a (non-critical) nameConstraints extension, which only CAs may carry (RFC 5280 4.2.1.10)."),
        ["rfc5280::pc::ica-noncritical-pc"] = Gap("The intermediate's policyConstraints is non-critical (RFC 5280 4.2.1.11 MUST be critical; limbo feature has-policy-constraints)."),
        ["rfc5280::root-missing-basic-constraints"] = Gap("The trust anchor has no basicConstraints (RFC 5280 4.2.1.9); trust-anchor extensions are outside section 6 processing."),
        ["rfc5280::root-non-critical-basic-constraints"] = Gap("The trust anchor's basicConstraints is non-critical (RFC 5280 4.2.1.9)."),
        ["rfc5280::san::noncritical-with-empty-subject"] = Gap("The leaf has an empty subject and a non-critical subjectAltName (RFC 5280 4.2.1.6 MUST be critical)."),
        ["rfc5280::leaf-ku-keycertsign"] = Gap("The leaf asserts keyUsage keyCertSign with cA=FALSE (RFC 5280 4.2.1.9)."),
        ["webpki::ee-basicconstraints-ca"] = Gap("The leaf has cA=TRUE without keyCertSign (CABF 7.1.2.7.8)."),
        ["webpki::malformed-aia"] = Gap("The leaf's authorityInfoAccess is an empty sequence (CABF; downloads are disabled, so AIA is never used)."),
        ["webpki::nc::intermediate-permitted-excluded-subtrees-both-null"] = Gap("The intermediate's nameConstraints has neither permitted nor excluded subtrees (RFC 5280 4.2.1.10)."),
        ["webpki::nc::intermediate-permitted-excluded-subtrees-both-empty-sequences"] = Gap("The intermediate's nameConstraints has empty permitted and excluded subtrees (RFC 5280 4.2.1.10)."),
        ["webpki::v1-cert"] =
            "GAP (profile strictness, low risk): the leaf is X.509 v2 (no extensions, so no EKU) and is accepted; CABF 7.1.1 requires v3, " +
            "RFC 5280 only requires v3 when extensions are present. Fix if wanted: refuse leaves with Version < 3 (InvalidChain).",
    };
}
