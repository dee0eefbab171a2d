using System.Buffers;

namespace MtlsGate.Policy;

/// <summary>What is wrong with a request target's path, if anything. The first problem found wins.</summary>
public enum TargetProblem
{
    None,

    /// <summary>
    /// <c>%2F</c> and nothing worse: refused unless the route sets <c>MtlsGate.AllowEncodedSlashes</c>.
    /// Kestrel keeps <c>%2F</c> undecoded in the path, so the route matched it as one segment; a backend
    /// that decodes it sees another path.
    /// </summary>
    EncodedSlash,

    /// <summary>A raw <c>\</c>: Windows/IIS backends and some Java servers read it as a separator.</summary>
    Backslash,

    /// <summary><c>%5C</c>: forwarded decoded (YARP sends <c>%5C</c> again), read as a separator by the same backends.</summary>
    EncodedBackslash,

    /// <summary>
    /// A dot segment with path parameters (<c>..;</c>, <c>.;</c>, also <c>%2e%2e;</c> or <c>..%3B</c>): Kestrel
    /// does not remove it (it is not a dot segment to RFC 3986), Tomcat and Jetty strip the parameters
    /// and then resolve <c>..</c>: <c>/public/..;/admin</c> reaches <c>/admin</c>.
    /// </summary>
    DotSegmentParameter,

    /// <summary>
    /// <c>%2F</c> next to a <c>.</c> or <c>..</c> segment (<c>/a/..%2Fb</c>): never allowed, even on a route
    /// that allows encoded slashes, since a backend that decodes <c>%2F</c> resolves the dot segment
    /// that Kestrel did not.
    /// </summary>
    EncodedSlashDotSegment,

    /// <summary>
    /// <c>%2F</c> together with <c>%25</c>: after Kestrel's decoding, <c>%2F</c> and <c>%252F</c> are the
    /// same text, so which one to forward could not be told apart. Never allowed.
    /// </summary>
    EncodedSlashAndPercent,
}

/// <summary>
/// Judges the raw request target (<c>IHttpRequestFeature.RawTarget</c>: the request line's target in
/// HTTP/1.1, <c>:path</c> in HTTP/2) for separators a backend could resolve differently from the
/// gateway's router. Only the path is judged, never the query. Pure: a string in, a verdict out.
/// </summary>
public static class RequestTarget
{
    // Nothing to judge without one of these: the fast path for nearly every request.
    private static readonly SearchValues<char> Suspicious = SearchValues.Create("%\\;");

    public static TargetProblem Check(string rawTarget)
    {
        ArgumentNullException.ThrowIfNull(rawTarget);
        var path = PathOf(rawTarget);
        if (path.IndexOfAny(Suspicious) < 0)
        {
            return TargetProblem.None;
        }

        if (path.Contains('\\'))
        {
            return TargetProblem.Backslash;
        }

        var encodedSlash = false;
        var encodedPercent = false;
        for (var i = 0; i + 2 < path.Length; i++)
        {
            if (path[i] != '%')
            {
                continue;
            }

            switch (Decode(path[i + 1], path[i + 2]))
            {
                case '\\':
                    return TargetProblem.EncodedBackslash;
                case '/':
                    encodedSlash = true;
                    break;
                case '%':
                    encodedPercent = true;
                    break;
            }
        }

        // Segments of the decoded path, split at every separator a backend might honour (decoded %2F included).
        var decoded = DecodeAll(path);
        var dotSegment = false;
        foreach (var range in decoded.AsSpan().Split('/'))
        {
            var segment = decoded.AsSpan(range);
            if (segment.StartsWith(".;", StringComparison.Ordinal) || segment.StartsWith("..;", StringComparison.Ordinal))
            {
                return TargetProblem.DotSegmentParameter;
            }

            dotSegment |= segment is "." or "..";
        }

        if (!encodedSlash)
        {
            return TargetProblem.None;
        }

        return dotSegment ? TargetProblem.EncodedSlashDotSegment
            : encodedPercent ? TargetProblem.EncodedSlashAndPercent
            : TargetProblem.EncodedSlash;
    }

    /// <summary>True when the request must be answered 400 whatever the route.</summary>
    public static bool RefusedBeforeRouting(TargetProblem problem) => problem is not (TargetProblem.None or TargetProblem.EncodedSlash);

    /// <summary>
    /// The path part of a target: origin-form up to <c>?</c>; absolute-form (<c>http://host/p</c>) from the
    /// first <c>/</c> after the authority; authority-form (CONNECT) and <c>*</c> have none.
    /// </summary>
    public static ReadOnlySpan<char> PathOf(string rawTarget)
    {
        ArgumentNullException.ThrowIfNull(rawTarget);
        var target = rawTarget.AsSpan();
        if (!target.StartsWith('/'))
        {
            var scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme < 0)
            {
                return [];
            }

            target = target[(scheme + 3)..];
            var slash = target.IndexOf('/');
            target = slash < 0 ? [] : target[slash..];
        }

        var end = target.IndexOfAny('?', '#');
        return end < 0 ? target : target[..end];
    }

    /// <summary>Every %XX decoded once (as a byte, enough for the ASCII separators judged here); invalid escapes kept.</summary>
    private static string DecodeAll(ReadOnlySpan<char> path)
    {
        var builder = new System.Text.StringBuilder(path.Length);
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length && Decode(path[i + 1], path[i + 2]) is { } c)
            {
                builder.Append(c);
                i += 2;
            }
            else
            {
                builder.Append(path[i]);
            }
        }

        return builder.ToString();
    }

    private static char? Decode(char high, char low) =>
        HexValue(high) is { } h && HexValue(low) is { } l ? (char)((h << 4) | l) : null;

    private static int? HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => null,
    };
}
