using System.Net;

namespace MtlsGate.Policy;

/// <summary>What the policy needs to know about a request, besides the certificate.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="ClientAddress">The client address (after trusted-proxy resolution), or null when unknown.</param>
/// <param name="Country">ISO country code of the client address, or null when unknown or no database.</param>
/// <param name="HostMatchesConnection">False when Host/:authority does not belong to the TLS connection's host.</param>
public readonly record struct RequestFacts(string Method, IPAddress? ClientAddress, string? Country, bool HostMatchesConnection = true)
{
    public static RequestFacts For(string method) => new(method, null, null);

    /// <summary>The request's validated, allow-listed gateway login session, or null: counts only for <see cref="Requirement.CertificateOrLogin"/>.</summary>
    public LoginSession? Session { get; init; }

    /// <summary>
    /// The device inventory's verdict on the certificate (looked up by the middleware in the in-memory block
    /// list): <see cref="DenyReason.Blocked"/>, <see cref="DenyReason.Revoked"/>, or <see cref="DenyReason.None"/>.
    /// </summary>
    public DenyReason DeviceVerdict { get; init; }
}
