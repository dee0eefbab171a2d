using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Policy;
using MtlsGate.Text;
using Yarp.ReverseProxy.Model;

namespace MtlsGate.Denials;

/// <summary>
/// Answers 400 to request targets a backend could resolve to another path than the gateway's router
/// did (see <see cref="RequestTarget"/>): before routing, except <c>%2F</c> alone, which waits for the
/// route (<see cref="UseEncodedSlashRouteCheck"/>) because a route may allow it. Either way the request
/// is answered before any policy decision and never reaches the proxy.
/// </summary>
public static class RequestTargetGuard
{
    /// <summary>Before <c>UseRouting</c>: every target problem but a lone <c>%2F</c> is a 400 here.</summary>
    public static IApplicationBuilder UseRequestTargetCheck(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = Logger(app);
        return app.Use(next => context =>
        {
            var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
            var problem = RequestTarget.Check(raw);
            if (problem == TargetProblem.None)
            {
                return next(context);
            }

            if (RequestTarget.RefusedBeforeRouting(problem))
            {
                return RefuseAsync(context, logger, problem, raw);
            }

            context.Features.Set(EncodedSlashFeature.Instance);
            return next(context);
        });
    }

    /// <summary>
    /// After <c>UseRouting</c>: a target whose only problem is <c>%2F</c> passes only on a route with
    /// <c>MtlsGate.AllowEncodedSlashes: true</c> (no route: 400 too). Routing merely matched the path;
    /// nothing was decided or forwarded yet.
    /// </summary>
    public static IApplicationBuilder UseEncodedSlashRouteCheck(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = Logger(app);
        return app.Use(next => context =>
        {
            if (context.Features.Get<EncodedSlashFeature>() is null
                || RouteMetadataCompiler.AllowsEncodedSlashes(context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.Metadata))
            {
                return next(context);
            }

            return RefuseAsync(context, logger, TargetProblem.EncodedSlash, context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "");
        });
    }

    private static ILogger Logger(IApplicationBuilder app) =>
        ((ILoggerFactory)app.ApplicationServices.GetService(typeof(ILoggerFactory))!).CreateLogger("MtlsGate.Access");

    /// <summary>
    /// The same bytes on HTTP/1.1 and HTTP/2: status 400, <c>Content-Length: 0</c>, no body, no
    /// content type (Kestrel adds only <c>Date</c>; its <c>Server</c> header is off). The connection stays
    /// usable, like any other answered request.
    /// </summary>
    private static Task RefuseAsync(HttpContext context, ILogger logger, TargetProblem problem, string raw)
    {
        Log.RequestTargetRefused(logger, problem.ToString(), context.Request.Method, LoggedPath(raw), StatusCodes.Status400BadRequest);
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The raw path as the client sent it (still percent-encoded, so logged as is), without the query,
    /// made safe for a log line by <see cref="HeaderEncoding.EncodePrintable"/>.
    /// </summary>
    private static string LoggedPath(string raw) => HeaderEncoding.EncodePrintable(RequestTarget.PathOf(raw));

    /// <summary>Marks a request whose target carries <c>%2F</c> (and nothing worse) until its route is known.</summary>
    private sealed class EncodedSlashFeature
    {
        public static readonly EncodedSlashFeature Instance = new();
    }
}
