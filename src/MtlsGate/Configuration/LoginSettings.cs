using System.Collections.Frozen;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Login</c> compiled: immutable, part of the snapshot.</summary>
/// <param name="Oidc">The identity provider, or null (certificate-started sessions only).</param>
/// <param name="Allow">Who may log in through the provider.</param>
/// <param name="SessionLifetime">How long a session lasts.</param>
/// <param name="CookieName">The session cookie's name.</param>
/// <param name="BitwardenApps">Serve the Bitwarden apps' cookie vendor and bootstrap.</param>
/// <param name="KeysDirectory">The data-protection key ring (in the state directory, 0700).</param>
/// <param name="RevokedFile">Where logged-out session ids are remembered until they would have expired.</param>
public sealed record LoginSettings(
    OidcSettings? Oidc,
    LoginAllowList Allow,
    TimeSpan SessionLifetime,
    string CookieName,
    bool BitwardenApps,
    string KeysDirectory,
    string RevokedFile)
{
    /// <summary>The login path (browser navigations are sent here).</summary>
    public const string LoginPath = "/.mtlsgate/login";

    public const string LogoutPath = "/.mtlsgate/logout";

    /// <summary>The redirect URI to register at the identity provider (with the gateway's origin).</summary>
    public const string CallbackPath = "/.mtlsgate/oidc/callback";

    /// <summary>Bitwarden clients open this in the system browser (bitwarden/clients apps/web webpack: <c>proxy-cookie-redirect-connector.html</c>).</summary>
    public const string ConnectorPath = "/proxy-cookie-redirect-connector.html";

    /// <summary>bitwarden/server src/Api/Platform/SsoCookieVendor/Controllers/SsoCookieVendorController.cs, route <c>sso-cookie-vendor</c> on the Api app.</summary>
    public const string VendorPath = "/api/sso-cookie-vendor";

    /// <summary>The backend's configuration endpoint the bootstrap is injected into (bitwarden/server src/Api/Controllers/ConfigController.cs).</summary>
    public const string ConfigPath = "/api/config";
}

/// <summary>The identity provider (validated: an https Authority, or http on loopback).</summary>
public sealed record OidcSettings(Uri Authority, string ClientId, string? ClientSecret, IReadOnlyList<string> Scopes)
{
    /// <summary>Metadata and token requests to the provider give up after this: no login hangs on an unreachable provider.</summary>
    public static readonly TimeSpan BackchannelTimeout = TimeSpan.FromSeconds(10);
}

/// <summary>Any-of: a verified e-mail, a subject, or a group. Every set empty: nobody.</summary>
public sealed record LoginAllowList(FrozenSet<string> Emails, FrozenSet<string> Subjects, FrozenSet<string> Groups, string GroupsClaim)
{
    public bool IsEmpty => Emails.Count == 0 && Subjects.Count == 0 && Groups.Count == 0;
}
