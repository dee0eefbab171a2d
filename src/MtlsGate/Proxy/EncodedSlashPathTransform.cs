using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace MtlsGate.Proxy;

/// <summary>
/// On a route with <c>MtlsGate.AllowEncodedSlashes: true</c>, forwards <c>%2F</c> as <c>%2F</c>.
/// Kestrel leaves <c>%2F</c> undecoded in <c>HttpRequest.Path</c>, and YARP escapes every <c>%</c> of the
/// path again (<c>RequestUtilities.MakeDestinationAddress</c>, dotnet/yarp v2.3.0
/// src/ReverseProxy/Forwarder/RequestUtilities.cs), so by default the backend receives <c>%252F</c>.
/// This sets the request URI itself, escaping the path as YARP does except that <c>%2F</c> stays.
/// The guard has already refused <c>%2F</c> with <c>%25</c> in the same target, so every <c>%2F</c>
/// in the path is one the client sent encoded (never a decoded <c>%252F</c>).
/// </summary>
public sealed class EncodedSlashPathTransform : RequestTransform
{
    // RFC 3986 pchar minus '%': what YARP leaves unescaped in a path.
    private static readonly SearchValues<char> PathChars =
        SearchValues.Create("!$&'()*+,-./0123456789:;=@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~");

    /// <summary>
    /// Adds the transform to routes that allow encoded slashes. Providers run after the route's own
    /// transforms (YARP TransformBuilder.BuildInternal), so path transforms have been applied.
    /// </summary>
    public static void AddTo(TransformBuilderContext builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (RouteMetadataCompiler.AllowsEncodedSlashes(builder.Route?.Metadata))
        {
            builder.RequestTransforms.Add(new EncodedSlashPathTransform());
        }
    }

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var path = context.Path.Value;
        if (path is null || !path.Contains('%', StringComparison.Ordinal)
            || RequestTarget.Check(context.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "") != TargetProblem.EncodedSlash)
        {
            return ValueTask.CompletedTask;
        }

        var prefix = context.DestinationPrefix.EndsWith('/') ? context.DestinationPrefix[..^1] : context.DestinationPrefix;
        context.ProxyRequest.RequestUri = new Uri(prefix + EncodePath(path) + context.Query.QueryString.ToUriComponent(), UriKind.Absolute);
        return ValueTask.CompletedTask;
    }

    /// <summary>Escapes a decoded path as YARP does (UTF-8 %XX outside pchar), keeping <c>%2F</c> (either case) as <c>%2F</c>.</summary>
    public static string EncodePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var builder = new StringBuilder(path.Length + 16);
        var start = 0;
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (PathChars.Contains(c))
            {
                continue;
            }

            builder.Append(path, start, i - start);
            if (c == '%' && i + 2 < path.Length && path[i + 1] == '2' && (path[i + 2] is 'F' or 'f'))
            {
                builder.Append("%2F");
                i += 2;
            }
            else
            {
                // A surrogate pair is escaped whole (one UTF-8 sequence).
                var length = char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]) ? 2 : 1;
                builder.Append(Uri.EscapeDataString(path.AsSpan(i, length)));
                i += length - 1;
            }

            start = i + 1;
        }

        return builder.Append(path, start, path.Length - start).ToString();
    }
}
