using MtlsGate.Policy;
using MtlsGate.Proxy;

namespace MtlsGate.Tests.Security;

/// <summary>The pure verdict on raw request targets (security case 27), as a table.</summary>
public sealed class RequestTargetTests
{
    public static TheoryData<string, TargetProblem> Targets => new()
    {
        // Ordinary targets, including what looks close to a problem but is not one.
        { "/", TargetProblem.None },
        { "/api/sync?x=1", TargetProblem.None },
        { "/a%20b/c%C3%A9", TargetProblem.None },
        { "/a;b/c;jsessionid=1", TargetProblem.None },
        { "/.well-known/x", TargetProblem.None },
        { "/..a/...;/b", TargetProblem.None },
        { "/x/../y", TargetProblem.None },
        { "/a%25b", TargetProblem.None },
        { "/a%252Fb", TargetProblem.None },
        { "/q?next=%2F..;%5C\\", TargetProblem.None },
        { "*", TargetProblem.None },
        { "localhost:443", TargetProblem.None },
        { "/bad%zz%2", TargetProblem.None },

        // Backslashes, raw and encoded, either case.
        { "/a\\b", TargetProblem.Backslash },
        { "/send/..%5capi/x", TargetProblem.EncodedBackslash },
        { "/send/%5C", TargetProblem.EncodedBackslash },

        // Dot segments with path parameters, raw and encoded.
        { "/send/..;/api/x", TargetProblem.DotSegmentParameter },
        { "/send/.;/api/x", TargetProblem.DotSegmentParameter },
        { "/send/..;jsessionid=1/admin", TargetProblem.DotSegmentParameter },
        { "/send/%2e%2e;/api", TargetProblem.DotSegmentParameter },
        { "/send/%2E%2E%3B/api", TargetProblem.DotSegmentParameter },
        { "/send/..%3b/api", TargetProblem.DotSegmentParameter },
        { "/send/.%2e;/api", TargetProblem.DotSegmentParameter },
        { "/..;", TargetProblem.DotSegmentParameter },

        // Encoded slashes: alone (the route decides), or with what makes them unsafe anywhere.
        { "/a%2Fb", TargetProblem.EncodedSlash },
        { "/a%2fb?x=%25", TargetProblem.EncodedSlash },
        { "/a%2F..;/b", TargetProblem.DotSegmentParameter },
        { "/a/..%2Fb", TargetProblem.EncodedSlashDotSegment },
        { "/%2e%2e%2fetc", TargetProblem.EncodedSlashDotSegment },
        { "/a%2F.%2Fb", TargetProblem.EncodedSlashDotSegment },
        { "/a%2Fb%25", TargetProblem.EncodedSlashAndPercent },
        { "/a%252F%2Fb", TargetProblem.EncodedSlashAndPercent },

        // Absolute-form: the path after the authority is judged (Kestrel decodes its %2F to '/').
        { "http://localhost/a%2Fb", TargetProblem.EncodedSlash },
        { "https://localhost/send/..;/x?y", TargetProblem.DotSegmentParameter },
        { "http://localhost", TargetProblem.None },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void Check_judges_the_path_of_the_raw_target(string rawTarget, TargetProblem expected) =>
        Assert.Equal(expected, RequestTarget.Check(rawTarget));

    [Theory]
    [InlineData(TargetProblem.None, false)]
    [InlineData(TargetProblem.EncodedSlash, false)]
    [InlineData(TargetProblem.Backslash, true)]
    [InlineData(TargetProblem.EncodedBackslash, true)]
    [InlineData(TargetProblem.DotSegmentParameter, true)]
    [InlineData(TargetProblem.EncodedSlashDotSegment, true)]
    [InlineData(TargetProblem.EncodedSlashAndPercent, true)]
    public void Only_a_lone_encoded_slash_waits_for_the_route(TargetProblem problem, bool refusedBeforeRouting) =>
        Assert.Equal(refusedBeforeRouting, RequestTarget.RefusedBeforeRouting(problem));

    [Theory]
    [InlineData("/a%2Fb", "/a%2Fb")]
    [InlineData("/a%2fb", "/a%2Fb")]
    [InlineData("/plain/path;x=1", "/plain/path;x=1")]
    [InlineData("/a b/é/%2F", "/a%20b/%C3%A9/%2F")]
    [InlineData("/100%/x", "/100%25/x")]
    [InlineData("/a%2", "/a%252")]
    [InlineData("/😀%2F", "/%F0%9F%98%80%2F")]
    public void EncodePath_escapes_like_YARP_but_keeps_encoded_slashes(string decodedPath, string expected) =>
        Assert.Equal(expected, EncodedSlashPathTransform.EncodePath(decodedPath));
}
