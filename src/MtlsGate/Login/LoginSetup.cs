using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using MtlsGate.Configuration;
using MtlsGate.Logging;

namespace MtlsGate.Login;

/// <summary>
/// Login's services: the session service, and ASP.NET Core's OpenID Connect handler as a relying
/// party (authorization code + PKCE) whose options are built from the snapshot in force and rebuilt
/// after every reload (an <see cref="IOptionsChangeTokenSource{TOptions}"/> fired by the swap). The
/// handler never signs in to a cookie scheme: on the ticket, the gateway checks its allow-list and
/// starts its own session (<see cref="LoginSessions"/>).
/// </summary>
public static class LoginSetup
{
    public const string Scheme = "mtlsgate-oidc";

    public static IServiceCollection AddMtlsGateLogin(this IServiceCollection services, GatewayState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        services.AddSingleton<LoginSessions>();
        // The OpenID Connect handler without AddAuthentication: registering an authentication scheme makes
        // WebApplication add UseAuthentication to every pipeline (Microsoft.AspNetCore WebApplicationBuilder
        // ConfigureApplication), which would create the handler for every proxied request. The gateway runs
        // it only on its own paths (LoginEndpoints.HandlerAsync); OpenIdConnectPostConfigureOptions fills in
        // the back-channel client, ConfigurationManager (metadata cache) and state protection, as AddOpenIdConnect would.
        services.AddOptions();
        services.AddWebEncoders();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<OpenIdConnectOptions>, OpenIdConnectPostConfigureOptions>());
        services.AddSingleton<IConfigureOptions<OpenIdConnectOptions>>(sp => new OidcOptionsSetup(state, sp.GetRequiredService<LoginSessions>(), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IOptionsChangeTokenSource<OpenIdConnectOptions>>(new SnapshotChangeTokenSource(state));
        return services;
    }

    /// <summary>Before routing: the gateway's own login paths (and the Bitwarden connector and vendor) are answered here.</summary>
    public static IApplicationBuilder UseMtlsGateLogin(this IApplicationBuilder app) => app.UseMiddleware<LoginEndpoints>();

    private sealed class SnapshotChangeTokenSource : IOptionsChangeTokenSource<OpenIdConnectOptions>, IDisposable
    {
        private CancellationTokenSource _source = new();

        public SnapshotChangeTokenSource(GatewayState state) =>
            state.Swapped += _ =>
            {
                using var previous = Interlocked.Exchange(ref _source, new CancellationTokenSource());
                previous.Cancel();
            };

        public void Dispose() => _source.Dispose();

        public string Name => Scheme;

        public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _source).Token);
    }

    private sealed class OidcOptionsSetup(GatewayState state, LoginSessions sessions, ILoggerFactory loggers) : IConfigureNamedOptions<OpenIdConnectOptions>
    {
        private readonly ILogger _logger = loggers.CreateLogger("MtlsGate.Login");

        public void Configure(OpenIdConnectOptions options) => Configure(Options.DefaultName, options);

        public void Configure(string? name, OpenIdConnectOptions options)
        {
            if (name != Scheme || state.Current.Login is not { Oidc: { } oidc } login)
            {
                return;
            }

            options.Authority = oidc.Authority.ToString();
            options.ClientId = oidc.ClientId;
            options.ClientSecret = oidc.ClientSecret;
            options.ResponseType = "code";
            options.UsePkce = true;
            options.Scope.Clear();
            foreach (var scope in oidc.Scopes)
            {
                options.Scope.Add(scope);
            }

            // The id_token may carry only "sub" (e.g. oidc-provider): e-mail and groups come from userinfo.
            options.GetClaimsFromUserInfoEndpoint = true;
            options.MapInboundClaims = false;
            options.ClaimActions.MapUniqueJsonKey("email_verified", "email_verified");
            options.ClaimActions.MapJsonKey(login.Allow.GroupsClaim, login.Allow.GroupsClaim);
            options.SaveTokens = false;
            options.RequireHttpsMetadata = oidc.Authority.Scheme == Uri.UriSchemeHttps; // http only on loopback (LoginCompiler)
            options.BackchannelTimeout = OidcSettings.BackchannelTimeout;
            options.CallbackPath = LoginSettings.CallbackPath;
            options.SignedOutCallbackPath = "/.mtlsgate/oidc/signed-out";
            options.RemoteSignOutPath = "/.mtlsgate/oidc/remote-signout";
            options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.Always;
            options.NonceCookie.SecurePolicy = CookieSecurePolicy.Always;
            options.DataProtectionProvider = sessions.ProviderFor(login);
            options.TimeProvider = TimeProvider.System;
            options.Events = new OpenIdConnectEvents
            {
                OnTicketReceived = TicketReceivedAsync,
                OnRemoteFailure = RemoteFailureAsync,
            };
        }

        private async Task TicketReceivedAsync(TicketReceivedContext context)
        {
            context.HandleResponse();
            if (state.Current.Login is not { } login || context.Principal is null)
            {
                await LoginPages.WriteAsync(context.HttpContext, StatusCodes.Status404NotFound, "Login is not available", "Login was switched off.").ConfigureAwait(false);
                return;
            }

            if (sessions.FromClaims(context.Principal, login) is not { } token)
            {
                // Refused by the allow-list: a plain page, 404 like every other refusal (never 401/403).
                await LoginPages.WriteAsync(context.HttpContext, StatusCodes.Status404NotFound, "Not allowed",
                    "You logged in, but this account may not use this gateway.").ConfigureAwait(false);
                return;
            }

            sessions.SetCookie(context.HttpContext, token, login);
            LoginPages.Redirect(context.HttpContext, ReturnUrl.Sanitize(context.ReturnUri));
        }

        private async Task RemoteFailureAsync(RemoteFailureContext context)
        {
            context.HandleResponse();
            Log.LoginCallbackFailed(_logger, context.Failure?.GetBaseException().Message ?? "unknown");
            await LoginPages.WriteAsync(context.HttpContext, StatusCodes.Status400BadRequest, "Login failed",
                "The login could not be completed. Start again from the page you wanted.").ConfigureAwait(false);
        }
    }
}
