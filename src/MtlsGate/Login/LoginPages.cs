using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace MtlsGate.Login;

/// <summary>
/// The gateway's own small pages: plain HTML, no script, no outside resource, never cached, and
/// never 401/403 (the Bitwarden apps wipe their offline vault on those; a browser page here is for people).
/// </summary>
internal static class LoginPages
{
    public static Task WriteAsync(HttpContext context, int status, string title, string message)
    {
        var html = $"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{WebUtility.HtmlEncode(title)}</title></head>" +
                   $"<body><h1>{WebUtility.HtmlEncode(title)}</h1><p>{WebUtility.HtmlEncode(message)}</p></body></html>";
        return WriteHtmlAsync(context, status, html);
    }

    /// <summary>
    /// The vendor's error page, the body Bitwarden's server sends (SsoCookieVendorController.cs
    /// <c>ResponseHTML</c>, since bitwarden/server #7270): status 404, 400 or 500, <c>text/html</c>.
    /// </summary>
    public static Task WriteVendorErrorAsync(HttpContext context, int status) =>
        WriteHtmlAsync(context, status,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head>" +
            $"<body><p>Error code {status}. Please return to the Bitwarden app and try again.</p></body></html>");

    public static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers["Referrer-Policy"] = "no-referrer";
    }

    /// <summary>A 302 the gateway sends itself (login prompts, the vendor's deep link).</summary>
    public static void Redirect(HttpContext context, string location)
    {
        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.Location = location;
        NoStore(context.Response);
        context.Response.ContentLength = 0;
    }

    private static Task WriteHtmlAsync(HttpContext context, int status, string html)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        NoStore(response);
        response.Headers.ContentSecurityPolicy = "default-src 'none'";
        response.Headers.XContentTypeOptions = "nosniff";
        var bytes = Encoding.UTF8.GetBytes(html);
        response.ContentLength = bytes.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(bytes).AsTask();
    }
}
