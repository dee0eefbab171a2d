using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Login;
using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Proxy;

/// <summary>
/// The session cookie (and its shards) never reaches the backend: removed from the Cookie header(s),
/// every other cookie kept in order. The session is the gateway's credential, not the backend's.
/// </summary>
public sealed class SessionCookieTransform : RequestTransform
{
    public static readonly SessionCookieTransform Instance = new();

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Decided.Of(context).Snapshot.Login is not { } login)
        {
            return ValueTask.CompletedTask;
        }

        if (!context.HeadersCopied)
        {
            // A route that turned header copying off: YARP copies the client's headers after the
            // transforms (dotnet/yarp HttpTransformer), so the session cookie goes from those too.
            var cookie = context.HttpContext.Request.Headers.Cookie;
            if (cookie.Count != 0)
            {
                context.HttpContext.Request.Headers.Cookie = cookie.Select(v => SessionCookies.Strip(v ?? "", login.CookieName)).OfType<string>().ToArray();
            }
        }

        var headers = context.ProxyRequest.Headers;
        if (!headers.NonValidated.TryGetValues("Cookie", out var values))
        {
            return ValueTask.CompletedTask;
        }

        List<string>? kept = null;
        var changed = false;
        foreach (var value in values)
        {
            var stripped = SessionCookies.Strip(value, login.CookieName);
            changed |= !string.Equals(stripped, value, StringComparison.Ordinal);
            if (stripped is not null)
            {
                (kept ??= []).Add(stripped);
            }
        }

        if (changed)
        {
            headers.Remove("Cookie");
            if (kept is not null)
            {
                // RFC 9113 section 8.2.3 / RFC 6265 section 5.4: one Cookie header towards an HTTP/1.1 backend.
                headers.TryAddWithoutValidation("Cookie", string.Join("; ", kept));
            }
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Who a request admitted by a login session is, for the backend: <c>X-MtlsGate-User-Subject</c>,
/// <c>X-MtlsGate-User-Email</c> and <c>X-MtlsGate-Login</c> (<c>oidc</c> or <c>certificate</c>),
/// header-encoded. The client's own <c>X-MtlsGate-*</c> headers were stripped first
/// (<see cref="HeaderSanitizer"/>), so these are the gateway's word. Not sent with <c>IdentityHeaders: None</c>.
/// </summary>
public sealed class SessionHeadersTransform : RequestTransform
{
    public const string Subject = "X-MtlsGate-User-Subject";
    public const string Email = "X-MtlsGate-User-Email";
    public const string Method = "X-MtlsGate-Login";

    public static readonly SessionHeadersTransform Instance = new();

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var decided = Decided.Of(context);
        if (decided.Session is not { } session || decided.Snapshot.Forwarding.IdentityHeaders == IdentityHeaderFormat.None)
        {
            return ValueTask.CompletedTask;
        }

        var headers = context.ProxyRequest.Headers;
        headers.TryAddWithoutValidation(Subject, MtlsGate.Text.HeaderEncoding.Encode(session.Subject));
        if (session.Email is not null)
        {
            headers.TryAddWithoutValidation(Email, MtlsGate.Text.HeaderEncoding.Encode(session.Email));
        }

        headers.TryAddWithoutValidation(Method, session.Method == MtlsGate.Policy.LoginMethod.Oidc ? "oidc" : "certificate");
        return ValueTask.CompletedTask;
    }
}

/// <summary>With <c>BitwardenApps</c>, <c>GET /api/config</c> asks the backend for an uncompressed body, so the bootstrap can be injected.</summary>
public sealed class ConfigBootstrapRequestTransform : RequestTransform
{
    public static readonly ConfigBootstrapRequestTransform Instance = new();

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (ConfigBootstrapResponseTransform.Applies(context.HttpContext, Decided.Of(context)))
        {
            context.ProxyRequest.Headers.Remove("Accept-Encoding");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// With <c>BitwardenApps</c>: the backend's 200 JSON answer to <c>GET /api/config</c> gets the
/// <c>communication.bootstrap</c> block (<see cref="ConfigBootstrap"/>), the login URL and cookie domain
/// of the host the client asked. The body is buffered up to <see cref="ConfigBootstrap.MaxBytes"/>;
/// anything else (larger, compressed, not a JSON object) is passed on unchanged and logged.
/// </summary>
public sealed class ConfigBootstrapResponseTransform : ResponseTransform
{
    public static readonly ConfigBootstrapResponseTransform Instance = new();

    internal static bool Applies(HttpContext context, DecidedRequest decided) =>
        decided.Snapshot.Login is { BitwardenApps: true }
        && HttpMethods.IsGet(context.Request.Method)
        && string.Equals(context.Request.Path.Value, LoginSettings.ConfigPath, StringComparison.Ordinal);

    public override async ValueTask ApplyAsync(ResponseTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.HttpContext;
        if (http.Features.Get<DecidedRequest>() is not { } decided || !Applies(http, decided)
            || context.ProxyResponse is not { StatusCode: HttpStatusCode.OK, Content: { } content })
        {
            return;
        }

        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("MtlsGate.Login");
        if (content.Headers.ContentEncoding.Count != 0)
        {
            Log.BootstrapNotInjected(logger, "the backend compressed the body (" + string.Join(",", content.Headers.ContentEncoding) + ")");
            return;
        }

        if (content.Headers.ContentLength is > ConfigBootstrap.MaxBytes)
        {
            Log.BootstrapNotInjected(logger, $"the body is larger than {ConfigBootstrap.MaxBytes} bytes");
            return;
        }

        var body = await ReadBoundedAsync(await content.ReadAsStreamAsync(http.RequestAborted).ConfigureAwait(false), http.RequestAborted).ConfigureAwait(false);
        context.SuppressResponseBody = true;
        var host = http.Request.Host;
        string? problem = $"the body is larger than {ConfigBootstrap.MaxBytes} bytes";
        var injected = body.Complete
            ? ConfigBootstrap.Inject(body.Bytes, host.Host, $"https://{host.Value}{LoginSettings.LoginPath}", decided.Snapshot.Login!.CookieName, out problem)
            : null;
        if (injected is null)
        {
            Log.BootstrapNotInjected(logger, problem ?? "unknown");
        }

        var output = injected ?? body.Bytes;
        http.Response.Headers.Remove("Content-Length");
        http.Response.Headers.Remove("ETag");
        if (body.Complete)
        {
            http.Response.ContentLength = output.Length;
            await http.Response.Body.WriteAsync(output, http.RequestAborted).ConfigureAwait(false);
            return;
        }

        // Too large to buffer: what was read, then the rest as it comes.
        await http.Response.Body.WriteAsync(output, http.RequestAborted).ConfigureAwait(false);
        await body.Remainder!.CopyToAsync(http.Response.Body, http.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<(byte[] Bytes, bool Complete, Stream? Remainder)> ReadBoundedAsync(Stream stream, CancellationToken cancel)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancel).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > ConfigBootstrap.MaxBytes)
            {
                return (buffer.ToArray(), false, stream);
            }
        }

        return (buffer.ToArray(), true, null);
    }
}
