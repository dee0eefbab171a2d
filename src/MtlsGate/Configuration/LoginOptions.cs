namespace MtlsGate.Configuration;

/// <summary>
/// <c>MtlsGate:Login</c>: certificate OR login. Present (any key): the gateway serves <c>/.mtlsgate/login</c>,
/// <c>/.mtlsgate/logout</c> and <c>/.mtlsgate/oidc/callback</c>, and a policy with <c>Require: CertificateOrLogin</c>
/// admits a valid gateway session where a certificate is missing or refused. Absent: no login at all.
/// </summary>
public sealed class LoginSection
{
    public const string DefaultCookieName = "mtlsgate_session";

    public static readonly TimeSpan DefaultSessionLifetime = TimeSpan.FromDays(30);

    /// <summary>The OpenID Connect identity provider. Omitted: only a certificate presented by the browser starts a session.</summary>
    public OidcSection Oidc { get; set; } = new();

    /// <summary>Who may log in through the identity provider (any-of). Every list empty (the default): nobody.</summary>
    public LoginAllowSection Allow { get; set; } = new();

    /// <summary>How long a session lasts (a certificate-started one at most until the certificate's notAfter). Default 30 days.</summary>
    public TimeSpan SessionLifetime { get; set; } = DefaultSessionLifetime;

    /// <summary>The session cookie's name (large values go as <c>NAME-0</c>…<c>NAME-19</c>). Default <c>mtlsgate_session</c>.</summary>
    public string CookieName { get; set; } = DefaultCookieName;

    /// <summary>
    /// Serve the Bitwarden apps' SSO cookie vendor: the bootstrap in the backend's <c>/api/config</c>,
    /// <c>/proxy-cookie-redirect-connector.html</c> and <c>/api/sso-cookie-vendor</c>; a request with neither
    /// certificate nor session on a <c>CertificateOrLogin</c> route then gets 302. Default false.
    /// </summary>
    public bool BitwardenApps { get; set; }
}

/// <summary><c>MtlsGate:Login:Oidc</c>: an OpenID Connect relying party (authorization code + PKCE).</summary>
public sealed class OidcSection
{
    /// <summary>The issuer URL (its <c>/.well-known/openid-configuration</c> is fetched, with a timeout, and cached). https; http only on a loopback address.</summary>
    public string? Authority { get; set; }

    /// <summary>The client id registered at the provider. Required with <see cref="Authority"/>.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client secret (or <see cref="ClientSecretFile"/>; not both). Omitted: a public client (PKCE only).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>A file holding the client secret (trailing newline ignored), e.g. a container secret.</summary>
    public string? ClientSecretFile { get; set; }

    /// <summary>Scopes requested. Default <c>openid</c>, <c>email</c>, <c>profile</c>; must include <c>openid</c>.</summary>
    public List<string> Scopes { get; set; } = [];

    public static readonly IReadOnlyList<string> DefaultScopes = ["openid", "email", "profile"];
}

/// <summary><c>MtlsGate:Login:Allow</c>: any-of allow-list of people who may log in. Every list empty: nobody.</summary>
public sealed class LoginAllowSection
{
    /// <summary>Verified e-mail addresses (<c>email</c> claim with <c>email_verified</c> not false), compared ignoring case.</summary>
    public List<string> Emails { get; set; } = [];

    /// <summary>Provider subjects (<c>sub</c>), compared exactly.</summary>
    public List<string> Subjects { get; set; } = [];

    /// <summary>Group names, compared exactly, read from the <see cref="GroupsClaim"/> claim.</summary>
    public List<string> Groups { get; set; } = [];

    /// <summary>The claim that carries groups. Default <c>groups</c>.</summary>
    public string GroupsClaim { get; set; } = "groups";
}
