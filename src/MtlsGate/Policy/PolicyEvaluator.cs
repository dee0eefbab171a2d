namespace MtlsGate.Policy;

/// <summary>
/// The decision, as a pure function of facts: no HttpContext, no I/O, no clock.
/// The chain verdict in <see cref="ClientIdentity"/> was computed at the handshake against the
/// trust material of that moment.
/// </summary>
public static class PolicyEvaluator
{
    public static Decision Evaluate(ClientIdentity identity, CompiledPolicy policy) =>
        Evaluate(identity, RequestFacts.For("GET"), policy);

    /// <summary>
    /// Order: host binding; network deny/allow; country deny/allow/unknown; then either no
    /// requirement, a bypass network (LAN exemption), or the certificate: chain verdict, the device
    /// inventory's block list, identity allow-list, method restriction; with <see cref="Requirement.CertificateOrLogin"/>
    /// a login session passes where the certificate does not (never past the network, country or host rules).
    /// Log-only mode turns any denial into "would deny".
    /// </summary>
    public static Decision Evaluate(ClientIdentity identity, RequestFacts request, CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(policy);

        if (policy.DeniesEverything)
        {
            return Decision.Deny(DenyReason.NoRoute);
        }

        var reason = Reason(identity, request, policy);
        if (reason == DenyReason.None)
        {
            return Decision.Allow;
        }

        return policy.Mode == EnforcementMode.LogOnly
            ? new Decision(Outcome.WouldDeny, reason)
            : Decision.Deny(reason);
    }

    private static DenyReason Reason(ClientIdentity identity, RequestFacts request, CompiledPolicy policy)
    {
        if (!request.HostMatchesConnection)
        {
            return DenyReason.HostMismatch;
        }

        var address = request.ClientAddress;
        if (policy.DenyNetworks.Count != 0 && (address is null || Networks.Contain(policy.DenyNetworks, address)))
        {
            return DenyReason.NetworkNotAllowed;
        }

        if (policy.AllowNetworks.Count != 0 && (address is null || !Networks.Contain(policy.AllowNetworks, address)))
        {
            return DenyReason.NetworkNotAllowed;
        }

        if (policy.HasCountryRules)
        {
            if (request.Country is null)
            {
                return DenyReason.CountryUnknown;
            }

            if (policy.DenyCountries.Contains(request.Country, StringComparer.OrdinalIgnoreCase) ||
                (policy.AllowCountries.Count != 0 && !policy.AllowCountries.Contains(request.Country, StringComparer.OrdinalIgnoreCase)))
            {
                return DenyReason.CountryNotAllowed;
            }
        }

        if (policy.Require == Requirement.None || (address is not null && policy.BypassNetworks.Count != 0 && Networks.Contain(policy.BypassNetworks, address)))
        {
            return DenyReason.None;
        }

        var certificate = CertificateReason(identity, request, policy);

        if (certificate == DenyReason.None || policy.Require != Requirement.CertificateOrLogin || request.Session is null)
        {
            return certificate;
        }

        // Certificate OR login: a valid session stands in for a certificate that is missing or refused,
        // never for a device blocked or revoked in the inventory (the presented certificate's, or the one
        // a certificate-started session came from: a lost phone's session ends with its block).
        return request.DeviceVerdict;
    }

    /// <summary>The certificate's part: chain verdict, identity allow-list, method restriction.</summary>
    private static DenyReason CertificateReason(ClientIdentity identity, RequestFacts request, CompiledPolicy policy)
    {
        if (identity.ChainVerdict != DenyReason.None)
        {
            return identity.ChainVerdict;
        }

        // A valid certificate of a device blocked or revoked in the inventory (checked on every request,
        // so an open connection is cut off at its next one).
        if (request.DeviceVerdict != DenyReason.None)
        {
            return request.DeviceVerdict;
        }

        if (policy.Identities is { } allowed && !allowed.Matches(identity))
        {
            return DenyReason.IdentityNotAllowed;
        }

        foreach (var restriction in policy.MethodRestrictions)
        {
            if (restriction.Match.Matches(identity) && !restriction.Methods.Contains(request.Method, StringComparer.OrdinalIgnoreCase))
            {
                return DenyReason.MethodNotAllowed;
            }
        }

        return DenyReason.None;
    }
}
