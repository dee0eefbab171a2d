using MtlsGate.Configuration;
using MtlsGate.Policy;

namespace MtlsGate.Cli;

/// <summary>What <c>check</c> and <c>verify</c> say about certificate OR login.</summary>
internal static class LoginCheck
{
    /// <summary><c>check</c>: the login settings and which policies admit a session.</summary>
    public static void Print(GatewaySnapshot snapshot, TextWriter output)
    {
        var loginPolicies = snapshot.Policies.Values.Where(p => p.Require == Requirement.CertificateOrLogin).Select(p => p.Name).ToList();
        if (snapshot.Login is not { } login)
        {
            return;
        }

        var provider = login.Oidc is { } oidc ? $"OpenID Connect {oidc.Authority} (client {oidc.ClientId}, scopes {string.Join(" ", oidc.Scopes)}; register the redirect URI https://HOST{LoginSettings.CallbackPath})" : "no identity provider (a certificate in the browser only)";
        var allow = login.Allow.IsEmpty ? "nobody (Allow is empty)" : $"{login.Allow.Emails.Count} e-mail(s), {login.Allow.Subjects.Count} subject(s), {login.Allow.Groups.Count} group(s) of claim '{login.Allow.GroupsClaim}'";
        output.WriteLine($"Login: {provider}; may log in: {allow}; session {login.SessionLifetime}, cookie {login.CookieName}; Bitwarden apps {(login.BitwardenApps ? "on (/api/config bootstrap, connector page, /api/sso-cookie-vendor)" : "off")}");
        output.WriteLine($"  CertificateOrLogin policies: {(loginPolicies.Count == 0 ? "none" : string.Join(", ", loginPolicies))}; without either, a browser navigation gets 302 to {LoginSettings.LoginPath}{(login.BitwardenApps ? ", any other request 302 to " + LoginSettings.ConnectorPath : ", other requests the policy's denial")}");
    }

    /// <summary><c>verify</c>: what a certificate-less request could still do on a CertificateOrLogin policy.</summary>
    public static string Note(CompiledPolicy policy) =>
        policy.Require == Requirement.CertificateOrLogin
            ? "\nlogin        CertificateOrLogin: a request without this certificate passes with a valid login session (see README, Login and the Bitwarden apps)"
            : "";
}
