using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Policy;
using MtlsGate.Text;
using MtlsGate.Tls;

namespace MtlsGate.Login;

/// <summary>
/// Starts and validates gateway sessions. A cookie value is unprotected at most once per connection
/// (the result is cached on the connection's <see cref="ConnectionIdentityFeature"/>); every request
/// still checks expiry (the injected clock), the revoked set and the current allow-list, which are
/// memory reads. The data-protection key ring lives in the state directory (0700), so sessions
/// survive restarts, and a second replica given the same folder reads them.
/// </summary>
public sealed class LoginSessions
{
    private readonly ConcurrentDictionary<string, IDataProtector> _protectors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RevokedSessions> _revoked = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _unprotects;
    private readonly ILogger _logger;

    public LoginSessions(GatewayState state, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(loggers);
        _time = time;
        _logger = loggers.CreateLogger("MtlsGate.Login");
        Prepare(state.Current);
        // A reload that moves the state directory: the new files are read on the reload thread, not by a request.
        state.Swapped += Prepare;
    }

    /// <summary>How many cookie values were unprotected (the per-connection cache's effect, for tests and diagnostics).</summary>
    public long Unprotects => Interlocked.Read(ref _unprotects);

    /// <summary>The data-protection provider of <paramref name="settings"/>' key ring (also protects the OpenID Connect state).</summary>
    public IDataProtectionProvider ProviderFor(LoginSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Provider(settings.KeysDirectory);
    }

    private readonly ConcurrentDictionary<string, IDataProtectionProvider> _providers = new(StringComparer.Ordinal);

    private IDataProtectionProvider Provider(string keysDirectory) =>
        _providers.GetOrAdd(keysDirectory, static directory =>
        {
            // The key ring folder is private like the rest of the state directory; keys are written by
            // data protection's FileSystemXmlRepository into it (readable only by the gateway's user).
            if (PrivateDirectory.Ensure(directory) is { } problem)
            {
                throw new IOException(problem);
            }

            return DataProtectionProvider.Create(new DirectoryInfo(directory), builder => builder.SetApplicationName("MtlsGate"));
        });

    private IDataProtector Protector(LoginSettings settings) =>
        _protectors.GetOrAdd(settings.KeysDirectory, directory => Provider(directory).CreateProtector(SessionToken.Purpose));

    private RevokedSessions Revoked(LoginSettings settings) =>
        _revoked.GetOrAdd(settings.RevokedFile, file => new RevokedSessions(file));

    private void Prepare(GatewaySnapshot snapshot)
    {
        if (snapshot.Login is not { } login || _revoked.ContainsKey(login.RevokedFile))
        {
            return;
        }

        var revoked = new RevokedSessions(login.RevokedFile);
        try
        {
            revoked.Load(_time.GetUtcNow());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            Log.LoginRevocationsUnreadable(_logger, login.RevokedFile, ex.Message);
        }

        _revoked[login.RevokedFile] = revoked;
    }

    /// <summary>
    /// The request's valid session, or null: no cookie, not authentic, expired, logged out, or its
    /// person no longer on the allow-list. Unprotects at most once per connection per cookie value.
    /// </summary>
    public LoginSession? Validate(HttpContext context, LoginSettings settings) =>
        Token(context, settings, out _) is { } token ? token.ToSession() : null;

    /// <summary>The valid token and the cookies it came in (what the vendor hands the apps), or null.</summary>
    internal SessionToken? Token(HttpContext context, LoginSettings settings, out IReadOnlyList<KeyValuePair<string, string>> cookies)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        cookies = SessionCookies.Read(context.Request.Cookies, settings.CookieName);
        if (SessionCookies.Value(cookies) is not { } value)
        {
            return null;
        }

        var connection = context.Features.Get<ConnectionIdentityFeature>();
        SessionToken? token;
        if (connection?.LoginCache is CacheEntry cached && cached.KeysDirectory == settings.KeysDirectory && string.Equals(cached.Value, value, StringComparison.Ordinal))
        {
            token = cached.Token;
        }
        else
        {
            Interlocked.Increment(ref _unprotects);
            token = SessionToken.Unprotect(Protector(settings), value, out var problem);
            if (problem is not null)
            {
                Log.LoginSessionRefused(_logger, problem, connection?.RemoteIp ?? "-");
            }

            if (connection is not null)
            {
                connection.LoginCache = new CacheEntry(settings.KeysDirectory, value, token);
            }
        }

        if (token is null || token.ExpiresAt <= _time.GetUtcNow() || Revoked(settings).IsRevoked(token.IdHex) || !StillAllowed(token, settings.Allow))
        {
            return null;
        }

        return token;
    }

    /// <summary>
    /// The allow-list is read again on every request: removing a person from <c>MtlsGate:Login:Allow</c>
    /// ends their sessions at the next reload. A certificate-started session was allowed by the certificate.
    /// </summary>
    private static bool StillAllowed(SessionToken token, LoginAllowList allow) =>
        token.Method == LoginMethod.Certificate
        || allow.Subjects.Contains(token.Subject)
        || (token.Email is not null && allow.Emails.Contains(token.Email))
        || token.Groups.Any(allow.Groups.Contains);

    /// <summary>Starts a session from the identity provider's claims when the allow-list admits them; null (logged) when not.</summary>
    internal SessionToken? FromClaims(ClaimsPrincipal principal, LoginSettings settings)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var subject = principal.FindFirst("sub")?.Value ?? "";
        var email = principal.FindFirst("email")?.Value;
        // OpenID Connect Core 1.0 section 5.1: email_verified false means the address was not checked: it proves nothing.
        var verified = email is not null && !string.Equals(principal.FindFirst("email_verified")?.Value, "false", StringComparison.OrdinalIgnoreCase);
        var groups = principal.FindAll(settings.Allow.GroupsClaim).Select(c => c.Value).ToList();
        var matched = groups.Where(settings.Allow.Groups.Contains).Distinct(StringComparer.Ordinal).ToList();
        var allowed = subject.Length != 0 && (settings.Allow.Subjects.Contains(subject) || (verified && settings.Allow.Emails.Contains(email!)) || matched.Count != 0);
        if (!allowed)
        {
            Log.LoginNotAllowed(_logger, HeaderEncoding.Encode(subject), HeaderEncoding.Encode(email ?? "-"), verified, HeaderEncoding.Encode(string.Join(",", groups)));
            return null;
        }

        return Start(settings, LoginMethod.Oidc, subject, verified ? email : null, matched, notAfter: null);
    }

    /// <summary>Starts a session for a valid client certificate the browser presented (no identity provider), ending no later than the certificate.</summary>
    internal SessionToken FromCertificate(ClientIdentity identity, LoginSettings settings)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return Start(settings, LoginMethod.Certificate, identity.Subject, identity.Names.Emails.Count != 0 ? identity.Names.Emails[0] : null, [], identity.NotAfter) with
        {
            CertificateSha256 = identity.Sha256Fingerprint,
        };
    }

    internal SessionToken Start(LoginSettings settings, LoginMethod method, string subject, string? email, IReadOnlyList<string> groups, DateTimeOffset? notAfter)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var expires = _time.GetUtcNow() + settings.SessionLifetime;
        if (notAfter is { } limit && limit < expires)
        {
            expires = limit;
        }

        var token = SessionToken.New(expires, method, subject, email, groups);
        Log.LoginSessionStarted(_logger, token.IdHex, HeaderEncoding.Encode(subject), HeaderEncoding.Encode(email ?? "-"), method.ToString(), expires);
        return token;
    }

    /// <summary>The cookie value of <paramref name="token"/>.</summary>
    internal string Protect(SessionToken token, LoginSettings settings) => token.Protect(Protector(settings));

    /// <summary>Sets the session cookie(s) for <paramref name="token"/> on the response; returns the value.</summary>
    internal string SetCookie(HttpContext context, SessionToken token, LoginSettings settings)
    {
        var value = Protect(token, settings);
        SessionCookies.Write(context, settings.CookieName, value, token.ExpiresAt - _time.GetUtcNow());
        return value;
    }

    /// <summary>Ends the request's session, if any: revoked until it would have expired, cookies cleared.</summary>
    internal void Logout(HttpContext context, LoginSettings settings)
    {
        if (Token(context, settings, out _) is { } token)
        {
            var revoked = Revoked(settings);
            try
            {
                revoked.Revoke(token.IdHex, token.ExpiresAt, _time.GetUtcNow());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.LoginRevocationNotSaved(_logger, token.IdHex, revoked.File, ex.Message);
            }

            Log.LoginLoggedOut(_logger, token.IdHex, HeaderEncoding.Encode(token.Subject), token.ExpiresAt);
        }

        SessionCookies.Clear(context, settings.CookieName);
    }

    private sealed record CacheEntry(string KeysDirectory, string Value, SessionToken? Token);
}
