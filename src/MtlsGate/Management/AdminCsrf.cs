using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace MtlsGate.Management;

/// <summary>
/// Cross-site request forgery defences for every state-changing admin request (OWASP CSRF Prevention
/// Cheat Sheet: synchronizer token, custom request header, Origin and Fetch Metadata checks):
/// <list type="bullet">
/// <item>a form must carry the synchronizer token (random, one per process, written into every form of
/// the page; another site cannot read the page, so it cannot know it);</item>
/// <item>an API call must carry <c>X-Requested-With: MtlsGate</c> (a custom header: a cross-site page
/// can send it only after a CORS preflight, which the management listener never grants);</item>
/// <item>both: an <c>Origin</c> header, when sent, must be this listener's own origin, and a
/// <c>Sec-Fetch-Site</c> header, when sent, must be <c>same-origin</c> (or <c>none</c>: typed by the user).</item>
/// </list>
/// </summary>
public sealed class AdminCsrf
{
    public const string FieldName = "csrf";
    public const string HeaderName = "X-Requested-With";
    public const string HeaderValue = "MtlsGate";

    private readonly byte[] _token = Encoding.ASCII.GetBytes(Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)));

    /// <summary>The token to put in forms.</summary>
    public string Token => Encoding.ASCII.GetString(_token);

    /// <summary>Null when a form post is acceptable; else the reason for refusing it.</summary>
    public string? CheckForm(HttpRequest request, IFormCollection form)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(form);
        if (CheckOrigin(request) is { } problem)
        {
            return problem;
        }

        var sent = form[FieldName].ToString();
        return sent.Length != 0 && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(sent), _token)
            ? null
            : "missing or wrong CSRF token";
    }

    /// <summary>Null when an API call is acceptable; else the reason for refusing it.</summary>
    public static string? CheckApi(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Headers[HeaderName].ToString() != HeaderValue
            ? $"header {HeaderName}: {HeaderValue} missing"
            : CheckOrigin(request);
    }

    /// <summary>Origin and Fetch Metadata: a browser sends them on cross-site requests, and they cannot be forged by a page.</summary>
    public static string? CheckOrigin(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var origin = request.Headers.Origin.ToString();
        if (origin.Length != 0 && !string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase))
        {
            return "cross-origin request (Origin)";
        }

        var site = request.Headers["Sec-Fetch-Site"].ToString();
        return site.Length != 0 && site is not ("same-origin" or "none") ? "cross-site request (Sec-Fetch-Site)" : null;
    }
}
