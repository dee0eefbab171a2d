using System.Globalization;

namespace MtlsGate.Tests.TestSupport;

public enum TlsVersion
{
    V12,
    V13,
}

public enum Http
{
    V11,
    V2,
}

/// <summary>A curl run: exit code, and the response parsed from <c>-i</c> output (when there was one).</summary>
public sealed record CurlResult(ProcessResult Process, int? Status, string? StatusLine, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body)
{
    public int ExitCode => Process.ExitCode;

    public IEnumerable<string> HeaderValues(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    public bool HasHeader(string name) => HeaderValues(name).Any();

    public override string ToString() => Process.ToString();
}

/// <summary>Drives the real curl binary (argument list, no shell) against the gateway.</summary>
public static class Curl
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static string[] VersionArguments(TlsVersion tls, Http http) =>
    [
        .. tls == TlsVersion.V12 ? new[] { "--tlsv1.2", "--tls-max", "1.2" } : ["--tlsv1.3"],
        http == Http.V2 ? "--http2" : "--http1.1",
    ];

    public static async Task<CurlResult> GetAsync(string url, string caFile, ClientFiles? client, IEnumerable<string>? extraArguments = null)
    {
        List<string> arguments = ["-sS", "-i", "--max-time", "10", "--cacert", caFile];
        if (client is not null)
        {
            arguments.AddRange(["--cert", client.Certificate, "--key", client.Key]);
        }

        arguments.AddRange(extraArguments ?? []);
        arguments.Add(url);
        var result = await ProcessRunner.RunAsync("curl", arguments, Timeout);
        return Parse(result);
    }

    public static CurlResult Parse(ProcessResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var output = result.StandardOutput;
        if (!output.StartsWith("HTTP/", StringComparison.Ordinal))
        {
            return new CurlResult(result, null, null, [], output);
        }

        var end = output.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? output : output[..end];
        var body = end < 0 ? "" : output[(end + 4)..];
        var lines = head.Split("\r\n");
        var statusLine = lines[0];
        var parts = statusLine.Split(' ', 3);
        int? status = parts.Length > 1 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null;
        var headers = lines.Skip(1)
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .Select(p => new KeyValuePair<string, string>(p[0].Trim(), p[1].Trim()))
            .ToList();
        return new CurlResult(result, status, statusLine, headers, body);
    }
}
