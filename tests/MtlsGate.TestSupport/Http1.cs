using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MtlsGate.Tests.TestSupport;

/// <summary>HTTP/1.1 requests written by hand on one kept-alive connection (so the test knows it is the same connection).</summary>
public static partial class Http1
{
    /// <summary>One request; returns the response (head and body), or "" when the server had closed the connection.</summary>
    public static async Task<string> SendAsync(Stream stream, string path, string host = "localhost")
    {
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"));
            await stream.FlushAsync();
        }
        catch (IOException)
        {
            return "";
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var text = new StringBuilder();
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
                var s = text.ToString();
                var end = s.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end < 0)
                {
                    continue;
                }

                if (s.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)
                    ? s.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal)
                    : ContentLength().Match(s) is { Success: true } m && s.Length - end - 4 >= int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
        }

        return text.ToString();
    }

    /// <summary>True when the server closes the connection (reads end) within 10 s.</summary>
    public static async Task<bool> ClosedAsync(Stream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[1024];
        try
        {
            while (await stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"Content-Length: (\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex ContentLength();
}
