using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Login;

/// <summary>
/// The paths the gateway serves itself when <c>MtlsGate:Login</c> is configured: <c>/.mtlsgate/login</c>,
/// <c>/.mtlsgate/logout</c>, <c>/.mtlsgate/oidc/callback</c>, and with <c>BitwardenApps</c> the connector
/// page and the cookie vendor. Any other request goes on to routing and the deciding middleware.
/// None of these answers 401 or 403.
/// </summary>
public sealed class LoginEndpoints(RequestDelegate next, GatewayState state, LoginSessions sessions, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("MtlsGate.Login");

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (state.Current.Login is not { } login)
        {
            return next(context);
        }

        var path = context.Request.Path.Value ?? "";
        var read = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        return path switch
        {
            LoginSettings.LoginPath when read => LoginAsync(context, login),
            LoginSettings.LogoutPath when read || HttpMethods.IsPost(context.Request.Method) => LogoutAsync(context, login),
            LoginSettings.CallbackPath => CallbackAsync(context),
            LoginSettings.ConnectorPath when login.BitwardenApps && read => ConnectorAsync(context, login),
            LoginSettings.VendorPath when login.BitwardenApps && read => VendorAsync(context, login),
            _ => next(context),
        };
    }

    private async Task LoginAsync(HttpContext context, LoginSettings login)
    {
        var query = context.Request.Query["returnUrl"];
        var returnUrl = ReturnUrl.Sanitize(query.Count == 1 ? query[0] : null);
        if (sessions.Token(context, login, out _) is not null)
        {
            LoginPages.Redirect(context, returnUrl);
            return;
        }

        if (BrowserCertificate(context) is { } identity)
        {
            sessions.SetCookie(context, sessions.FromCertificate(identity, login), login);
            LoginPages.Redirect(context, returnUrl);
            return;
        }

        if (login.Oidc is null)
        {
            await LoginPages.WriteAsync(context, StatusCodes.Status404NotFound, "Login is not available",
                "This gateway has no identity provider configured: open it from a device with its client certificate.").ConfigureAwait(false);
            return;
        }

        try
        {
            // The handler fetches the provider's metadata (cached by its ConfigurationManager; each fetch
            // bounded by OidcSettings.BackchannelTimeout) and answers 302 to the provider.
            var handler = await HandlerAsync(context).ConfigureAwait(false);
            await handler.ChallengeAsync(new AuthenticationProperties { RedirectUri = returnUrl }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or TaskCanceledException or IOException)
        {
            Log.LoginProviderUnavailable(_logger, login.Oidc.Authority.ToString(), ex.GetBaseException().Message);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await LoginPages.WriteAsync(context, StatusCodes.Status502BadGateway, "Login is unavailable",
                    "The identity provider cannot be reached right now. Try again in a moment.").ConfigureAwait(false);
            }
        }
    }

    private async Task LogoutAsync(HttpContext context, LoginSettings login)
    {
        sessions.Logout(context, login);
        await LoginPages.WriteAsync(context, StatusCodes.Status200OK, "Logged out", "Your session at this gateway has ended.").ConfigureAwait(false);
    }

    /// <summary>The OpenID Connect handler's own callback processing (what ASP.NET's AuthenticationMiddleware does for a remote scheme).</summary>
    private async Task CallbackAsync(HttpContext context)
    {
        try
        {
            if (state.Current.Login?.Oidc is not null && await (await HandlerAsync(context).ConfigureAwait(false)).HandleRequestAsync().ConfigureAwait(false))
            {
                return;
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or TaskCanceledException or IOException or AuthenticationFailureException)
        {
            Log.LoginCallbackFailed(_logger, ex.GetBaseException().Message);
            if (context.Response.HasStarted)
            {
                return;
            }

            context.Response.Clear();
        }

        await LoginPages.WriteAsync(context, StatusCodes.Status400BadRequest, "Login failed", "The login could not be completed. Start again from the page you wanted.").ConfigureAwait(false);
    }

    /// <summary>
    /// <c>/proxy-cookie-redirect-connector.html</c>, opened by the Bitwarden apps in the system browser
    /// (Android CookieAcquisitionViewModel.kt PROXY_URL; iOS proxyCookieRedirectConnectorURL). Bitwarden's
    /// page only navigates to <c>/api/sso-cookie-vendor</c> (bitwarden/clients apps/web/src/connectors/platform/proxy-cookie-redirect.ts);
    /// here a 302 does that once there is a session, and sends the person to the login first otherwise.
    /// </summary>
    private Task ConnectorAsync(HttpContext context, LoginSettings login)
    {
        if (sessions.Token(context, login, out _) is null)
        {
            if (BrowserCertificate(context) is not { } identity)
            {
                LoginPages.Redirect(context, ReturnUrl.LoginFor(LoginSettings.ConnectorPath));
                return Task.CompletedTask;
            }

            sessions.SetCookie(context, sessions.FromCertificate(identity, login), login);
        }

        LoginPages.Redirect(context, LoginSettings.VendorPath);
        return Task.CompletedTask;
    }

    /// <summary>
    /// <c>/api/sso-cookie-vendor</c>, after bitwarden/server SsoCookieVendorController.cs: the session
    /// cookie (or its shards up to the first gap) handed to the app as
    /// <c>302 bitwarden://sso-cookie-vendor?NAME=&lt;Uri.EscapeDataString(value)&gt;&amp;d=1</c>; none → 404 page,
    /// a link over 8192 characters → 400 page. Unlike Bitwarden's, only a valid session is ever handed
    /// out (a cookie the gateway would refuse gets the 404), and a valid certificate in the browser
    /// starts one.
    /// </summary>
    private async Task VendorAsync(HttpContext context, LoginSettings login)
    {
        var token = sessions.Token(context, login, out var cookies);
        if (token is null && BrowserCertificate(context) is { } identity)
        {
            token = sessions.FromCertificate(identity, login);
            cookies = SessionCookies.Pairs(login.CookieName, sessions.SetCookie(context, token, login));
        }

        if (token is null)
        {
            Log.VendorRefused(_logger, StatusCodes.Status404NotFound, cookies.Count == 0 ? "no session cookie" : "not a valid session");
            await LoginPages.WriteVendorErrorAsync(context, StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }

        // SsoCookieVendorController.BuildRedirectUri: the cookie name unescaped, the value Uri.EscapeDataString, "d=1" last (detects truncation).
        var uri = "bitwarden://sso-cookie-vendor?" + string.Join("&", cookies.Select(c => c.Key + "=" + Uri.EscapeDataString(c.Value))) + "&d=1";
        if (uri.Length > MaxVendorUriLength)
        {
            Log.VendorRefused(_logger, StatusCodes.Status400BadRequest, $"the link would be {uri.Length} characters, over {MaxVendorUriLength}");
            await LoginPages.WriteVendorErrorAsync(context, StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }

        Log.VendorAnswered(_logger, token.IdHex, cookies.Count);
        LoginPages.Redirect(context, uri);
    }

    /// <summary>The OpenID Connect handler for this request (what AuthenticationHandlerProvider would create), options from the snapshot in force.</summary>
    private static async Task<OpenIdConnectHandler> HandlerAsync(HttpContext context)
    {
        var handler = ActivatorUtilities.CreateInstance<OpenIdConnectHandler>(context.RequestServices);
        await handler.InitializeAsync(new AuthenticationScheme(LoginSetup.Scheme, null, typeof(OpenIdConnectHandler)), context).ConfigureAwait(false);
        return handler;
    }

    /// <summary>SsoCookieVendorController <c>_maxUriLength</c>.</summary>
    public const int MaxVendorUriLength = 8192;

    /// <summary>
    /// "A certificate in the browser counts as login": the connection's own verdict (made at the
    /// handshake, no chain built here) against the trust store the default policy names (or the
    /// connection host's), and that policy's <c>Identities</c> allow-list when it has one.
    /// </summary>
    private ClientIdentity? BrowserCertificate(HttpContext context)
    {
        if (context.Features.Get<ConnectionIdentityFeature>() is not { } connection)
        {
            return null;
        }

        var snapshot = state.Current;
        if (!connection.Refresh(snapshot.LiveLimits.MaxConnectionLifetime))
        {
            return null;
        }

        var (policy, store) = PolicyResolution.For(snapshot, connection.HostName, null);
        var identity = store is not null ? connection.IdentityFor(store) : connection.Identity;
        return identity.IsValid && (policy.Identities is null || policy.Identities.Matches(identity)) ? identity : null;
    }
}
