namespace MtlsGate.Policy;

/// <summary>How a gateway login session was started.</summary>
public enum LoginMethod
{
    /// <summary>An OpenID Connect login at the configured identity provider.</summary>
    Oidc = 1,
    /// <summary>A valid client certificate presented by the browser (no identity provider involved).</summary>
    Certificate = 2,
}

/// <summary>
/// A validated gateway login session (a fact for the policy): the token was authentic, is not expired,
/// not revoked by a logout, and its person is still on the login allow-list.
/// </summary>
/// <param name="Id">The session id (hex), what a logout revokes.</param>
/// <param name="Subject">The identity provider's <c>sub</c>, or the certificate's subject for a certificate-started session.</param>
/// <param name="Email">A verified e-mail address, or null.</param>
/// <param name="Method">How the session was started.</param>
/// <param name="ExpiresAt">When the session ends.</param>
public sealed record LoginSession(string Id, string Subject, string? Email, LoginMethod Method, DateTimeOffset ExpiresAt)
{
    /// <summary>
    /// For a <see cref="LoginMethod.Certificate"/> session: the SHA-256 of the certificate it was started
    /// from, so that blocking or revoking that device in the inventory ends the session too; else null.
    /// </summary>
    public string? CertificateSha256 { get; init; }
}

/// <summary>What a request refused on a <see cref="Requirement.CertificateOrLogin"/> route is answered with instead of the denial.</summary>
public enum LoginPrompt
{
    /// <summary>The policy's configured denial.</summary>
    None,
    /// <summary>302 to <c>/.mtlsgate/login?returnUrl=…</c> (a browser navigation).</summary>
    LoginPage,
    /// <summary>302 to <c>/proxy-cookie-redirect-connector.html</c>: the Bitwarden apps' signal to acquire the session cookie.</summary>
    BitwardenConnector,
}

/// <summary>The pure choice between a login prompt and the configured denial.</summary>
public static class LoginPrompts
{
    /// <summary>
    /// Only a denial that a login could have turned into an allow gets a prompt: a certificate reason
    /// (missing, untrusted, expired, revoked, not allowed, …) on a <see cref="Requirement.CertificateOrLogin"/>
    /// policy. Host, network, country and connection-lifetime denials keep the configured denial: no
    /// login would change them, and the Bitwarden apps treat every 302 as "acquire the cookie again"
    /// (bitwarden/android network/.../interceptor/CookieInterceptor.kt), so a 302 is sent only when a
    /// login is what is missing. A browser navigation gets the login page; with <paramref name="bitwardenApps"/>
    /// every other request gets the connector page (any 302 starts the apps' cookie acquisition; Android
    /// ignores its Location).
    /// </summary>
    public static LoginPrompt For(CompiledPolicy policy, Decision decision, bool browserNavigation, bool bitwardenApps)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Require != Requirement.CertificateOrLogin || decision.Forwards || policy.DeniesEverything || !LoginCanHelp(decision.Reason))
        {
            return LoginPrompt.None;
        }

        return browserNavigation ? LoginPrompt.LoginPage
            : bitwardenApps ? LoginPrompt.BitwardenConnector
            : LoginPrompt.None;
    }

    private static bool LoginCanHelp(DenyReason reason) => reason is
        DenyReason.NoCertificate or DenyReason.Untrusted or DenyReason.Expired or DenyReason.NotYetValid or
        DenyReason.WrongUsage or DenyReason.InvalidChain or DenyReason.Revoked or DenyReason.RevocationUnknown or
        DenyReason.IdentityNotAllowed or DenyReason.MethodNotAllowed;
}
