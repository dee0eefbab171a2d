using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Configuration;
using MtlsGate.Policy;

namespace MtlsGate.Login;

/// <summary>What the deciding middleware asks of Login: the session fact, and the login prompt instead of a denial.</summary>
public static class LoginGate
{
    /// <summary>
    /// The request's valid session, looked at only on a <see cref="Requirement.CertificateOrLogin"/> policy
    /// with login configured and a Cookie header present; null otherwise.
    /// </summary>
    public static LoginSession? SessionFor(HttpContext context, GatewaySnapshot snapshot, CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Require != Requirement.CertificateOrLogin || snapshot.Login is not { } login || !context.Request.Headers.ContainsKey("Cookie"))
        {
            return null;
        }

        return context.RequestServices.GetService<LoginSessions>()?.Validate(context, login);
    }

    /// <summary>
    /// Answers a refused request with a 302 when a login is what it lacks (<see cref="LoginPrompts.For"/>):
    /// to the login page for a browser navigation, to the Bitwarden connector page otherwise (with
    /// <c>BitwardenApps</c>). False: the caller writes the configured denial.
    /// </summary>
    public static bool TryPrompt(HttpContext context, GatewaySnapshot snapshot, CompiledPolicy policy, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Login is not { } login)
        {
            return false;
        }

        switch (LoginPrompts.For(policy, decision, IsBrowserNavigation(context.Request), login.BitwardenApps))
        {
            case LoginPrompt.LoginPage:
                LoginPages.Redirect(context, ReturnUrl.LoginFor(context.Request.GetEncodedPathAndQuery()));
                return true;
            case LoginPrompt.BitwardenConnector:
                LoginPages.Redirect(context, LoginSettings.ConnectorPath);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// A top-level browser navigation: GET/HEAD with <c>Sec-Fetch-Mode: navigate</c> (Fetch Metadata,
    /// https://www.w3.org/TR/fetch-metadata/), or, from a client that sends no fetch metadata, one that
    /// accepts <c>text/html</c>. The Bitwarden apps' API calls are neither (OkHttp/URLSession send JSON Accept).
    /// </summary>
    public static bool IsBrowserNavigation(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return false;
        }

        var mode = request.Headers["Sec-Fetch-Mode"];
        if (mode.Count != 0)
        {
            return string.Equals(mode[0], "navigate", StringComparison.OrdinalIgnoreCase);
        }

        return request.Headers.Accept.Any(a => a is not null && a.Contains("text/html", StringComparison.OrdinalIgnoreCase));
    }
}
