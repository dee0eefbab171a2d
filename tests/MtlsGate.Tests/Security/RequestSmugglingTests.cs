using System.Text;
using System.Text.RegularExpressions;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Desync attempts over raw TLS with a valid client certificate (so the policy would allow a normal
/// request): every ambiguous framing must be answered 400 (or the connection closed), and the
/// backend must never receive a second request hidden in the first one's body.
/// </summary>
public sealed partial class RequestSmugglingTests(ITestOutputHelper output)
{
    private const string Smuggled = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

    /// <summary>A chunk whose data is a complete request: what a TE.CL desync would hand to the next hop.</summary>
    private static readonly string SmuggledChunk =
        Smuggled.Length.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "\r\n" + Smuggled + "\r\n";

    public static TheoryData<string, string> Attacks => new()
    {
        {
            "bare LF in a chunk extension",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "2;ext=\"x\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n\"\r\nhi\r\n0\r\n\r\n"
        },
        {
            "bare LF as chunk-size line terminator",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "2\nhi\r\n0\r\n\r\n" + Smuggled
        },
        {
            "Content-Length and Transfer-Encoding together (CL.TE)",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "0\r\n\r\n" + Smuggled
        },
        {
            "Transfer-Encoding and Content-Length together (TE.CL)",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
            + SmuggledChunk + "0\r\n\r\n"
        },
        {
            "Transfer-Encoding: chunked, identity",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
            + "0\r\n\r\n" + Smuggled
        },
        {
            "Transfer-Encoding with a space before the colon",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n"
            + "0\r\n\r\n" + Smuggled
        },
        {
            "Transfer-Encoding: xchunked",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n"
            + "0\r\n\r\n" + Smuggled
        },
        {
            "Transfer-Encoding given twice (chunked, then identity)",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\n"
            + "0\r\n\r\n" + Smuggled
        },
        {
            "two Content-Length headers with different values",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: " + Smuggled.Length + "\r\n\r\n" + Smuggled
        },
        {
            "one Content-Length header listing two different values",
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0, " + Smuggled.Length + "\r\n\r\n" + Smuggled
        },
    };

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task An_ambiguously_framed_request_is_refused_and_nothing_is_smuggled_to_the_backend(string attack, string request)
    {
        await using var gateway = await TestGateway.StartAsync();

        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, TestPki.Instance.Good, request));
        var statuses = StatusLine().Matches(response).Select(m => m.Groups[1].Value).ToList();
        output.WriteLine($"{attack}: responses [{string.Join(", ", statuses)}], backend saw [{string.Join(", ", gateway.Backend.Requests.Select(r => r.Method + " " + r.Path))}]");
        output.WriteLine(response);

        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path.Contains("smuggled", StringComparison.Ordinal));
        Assert.True(statuses.Count <= 1, "more than one response on the connection: " + string.Join(", ", statuses));
        // At most the one well-formed request head (a streamed body can fail after it was forwarded).
        Assert.True(gateway.Backend.Requests.Count <= 1, "the backend saw more than one request");
        Assert.All(gateway.Backend.Requests, r => Assert.Equal("/upload", r.Path));
        // The backend never receives both framings: YARP re-frames what Kestrel parsed.
        Assert.All(gateway.Backend.Requests, r => Assert.False(r.Header("Content-Length") is not null && r.Header("Transfer-Encoding") is not null));

        if (statuses.Count == 1 && statuses[0] != "400")
        {
            // RFC 9112 6.1: a request with both Content-Length and Transfer-Encoding may be processed by
            // Transfer-Encoding alone, but the connection MUST then be closed: nothing after it is read.
            Assert.Contains("Transfer-Encoding: chunked\r\n", request, StringComparison.Ordinal);
            Assert.Contains("Content-Length", request, StringComparison.Ordinal);
            Assert.Equal("200", statuses[0]);
            Assert.Contains("\r\nConnection: close\r\n", response, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task An_absolute_form_target_naming_another_host_than_the_Host_header_is_refused()
    {
        await using var gateway = await TestGateway.StartAsync();

        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, TestPki.Instance.Good,
            "GET https://evil.test/absolute HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        output.WriteLine(response);
        output.WriteLine("backend saw: " + string.Join(", ", gateway.Backend.Requests.Select(r => r.Method + " " + r.Path + " Host=" + r.Header("Host"))));

        Assert.True(response.Length == 0 || response.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), response);
        Assert.Empty(gateway.Backend.Requests);
    }

    [Fact]
    public async Task A_well_formed_pipelined_pair_reaches_the_backend_as_exactly_two_requests()
    {
        // The control: the same raw path does forward honest requests, so the refusals above are not an artefact.
        await using var gateway = await TestGateway.StartAsync();

        var response = Encoding.ASCII.GetString(await RawTls.ExchangeAsync(gateway.GatewayUri, TestPki.Instance.Good,
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
            + "GET /second HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));

        Assert.Equal(["200", "200"], StatusLine().Matches(response).Select(m => m.Groups[1].Value));
        Assert.Equal(["/upload", "/second"], gateway.Backend.Requests.Select(r => r.Path));
        Assert.Equal(2, gateway.Backend.LastUploadBytes);
    }

    [GeneratedRegex(@"HTTP/1\.1 (\d{3}) ")]
    private static partial Regex StatusLine();
}
