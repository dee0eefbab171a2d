using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace MtlsGate.Tests.TestSupport;

/// <summary>Files for <c>openssl s_client</c>: the test root as CA file and client certificates as PEM.</summary>
public sealed class SClientFiles : IDisposable
{
    public SClientFiles()
    {
        Folder = Directory.CreateTempSubdirectory("mtlsgate-sec-").FullName;
        CaFile = System.IO.Path.Combine(Folder, "ca.pem");
        File.WriteAllText(CaFile, MtlsGate.Tls.Pki.CertificatePem(TestPki.Instance.Root));
    }

    public string Folder { get; }

    public string CaFile { get; }

    public string Path(string name) => System.IO.Path.Combine(Folder, name);

    /// <summary>Writes NAME.pem and NAME.key and returns the s_client arguments presenting them.</summary>
    public string[] CertArguments(string name, X509Certificate2 certificate)
    {
        File.WriteAllText(Path(name + ".pem"), MtlsGate.Tls.Pki.CertificatePem(certificate));
        File.WriteAllText(Path(name + ".key"), MtlsGate.Tls.Pki.KeyPem(certificate));
        return ["-cert", Path(name + ".pem"), "-key", Path(name + ".key")];
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Drives <c>openssl s_client</c> against a gateway on loopback (in-process or the published binary), bounded in
/// time, with a raw HTTP/1.1 request on stdin.
/// </summary>
public static partial class SClient
{
    /// <summary><c>GET /</c> for localhost, closing the connection after the response.</summary>
    public static readonly string RawRequest = Request("/");

    public static string Request(string path, string host = "localhost") =>
        $"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n";

    /// <summary>
    /// One request over TLS <paramref name="tls"/>, presenting <paramref name="client"/> when given; reads until the
    /// server closes.
    /// </summary>
    public static Task<ProcessResult> RequestAsync(int port, string caFile, ClientFiles? client, TlsVersion tls, IEnumerable<string>? extraArguments = null, string? request = null)
    {
        List<string> arguments = [tls == TlsVersion.V12 ? "-tls1_2" : "-tls1_3"];
        if (client is not null)
        {
            arguments.AddRange(["-cert", client.Certificate, "-key", client.Key]);
        }

        arguments.AddRange(extraArguments ?? []);
        return RunAsync(port, caFile, arguments, request ?? RawRequest);
    }

    /// <summary>One connection: sends <paramref name="stdin"/> (with -ign_eof, so it reads until the server closes).</summary>
    public static Task<ProcessResult> RunAsync(int port, string caFile, IEnumerable<string> arguments, string stdin, TimeSpan? timeout = null)
    {
        List<string> all = ["s_client", "-connect", "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), "-CAfile", caFile, "-ign_eof"];
        all.AddRange(arguments);
        return ProcessRunner.RunAsync("openssl", all, timeout ?? TimeSpan.FromSeconds(20), stdin);
    }

    /// <summary>
    /// Runs s_client in interactive mode (no -ign_eof, so command letters such as <c>R</c> work): waits for the
    /// handshake, writes the <paramref name="lines"/> (after an <c>R</c> line, waits until s_client reports
    /// RENEGOTIATING or exits), then keeps stdin open until s_client exits or <paramref name="linger"/> passes.
    /// </summary>
    public static async Task<ProcessResult> InteractiveAsync(int port, string caFile, IEnumerable<string> arguments, IEnumerable<string> lines, TimeSpan linger)
    {
        List<string> all = ["s_client", "-connect", "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), "-CAfile", caFile];
        all.AddRange(arguments);
        var psi = ProcessRunner.StartInfo("openssl", all);
        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string Seen()
        {
            lock (stdout)
            {
                lock (stderr)
                {
                    return stdout.ToString() + stderr;
                }
            }
        }

        try
        {
            // s_client prints its session summary, ending in "Verify return code", once the handshake is done.
            await Eventually.TrueAsync(() => process.HasExited || Seen().Contains("Verify return code", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "s_client completes its handshake");
            var renegotiations = 0;
            foreach (var line in lines)
            {
                await process.StandardInput.WriteAsync(line);
                await process.StandardInput.FlushAsync();
                if (line == "R\n")
                {
                    renegotiations++;
                    await Eventually.TrueAsync(() => process.HasExited || Occurrences(Seen(), "RENEGOTIATING") >= renegotiations, TimeSpan.FromSeconds(10), "s_client starts the renegotiation");
                }
            }

            // Bounded wait for s_client's exit (the server closing the connection), not a sleep: at most linger.
            await Task.WhenAny(process.WaitForExitAsync(), Task.Delay(linger));
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // s_client already exited (e.g. the server closed on the renegotiation attempt).
        }

        var timedOut = false;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                ProcessRunner.Kill(process);
            }
        }

        // Without a token, waits for the end of the redirected output too.
        await process.WaitForExitAsync();
        lock (stdout)
        {
            lock (stderr)
            {
                return new ProcessResult(process.ExitCode, stdout.ToString(), stderr.ToString(), timedOut);
            }
        }
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is not null)
        {
            lock (builder)
            {
                builder.Append(line).Append('\n');
            }
        }
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>"Reused" or "New" from s_client's session summary line.</summary>
    public static string Resumption(ProcessResult result)
    {
        var match = SessionLine().Match(result.StandardOutput);
        return match.Success ? match.Groups[1].Value : "(no handshake)";
    }

    /// <summary>The HTTP status code of the first response in the output, or null when none arrived.</summary>
    public static int? Status(ProcessResult result)
    {
        var match = StatusLine().Match(result.StandardOutput);
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"^(Reused|New), ", RegexOptions.Multiline)]
    private static partial Regex SessionLine();

    // Not anchored to a line start: s_client prints TLS 1.3 session tickets as they arrive, and the
    // response can land in the middle of that printout (e.g. right after "    Cipher    : ...\n  ").
    [GeneratedRegex(@"HTTP/1\.1 (\d{3}) ")]
    private static partial Regex StatusLine();

    public static string Describe(ProcessResult result)
    {
        var builder = new StringBuilder();
        builder.Append("resumption=").Append(Resumption(result)).Append(" status=").Append(Status(result)?.ToString(CultureInfo.InvariantCulture) ?? "none");
        builder.Append(" exit=").Append(result.ExitCode);
        foreach (var line in result.StandardOutput.Split('\n').Concat(result.StandardError.Split('\n')))
        {
            if (line.StartsWith("HTTP/", StringComparison.Ordinal) || line.Contains("error", StringComparison.OrdinalIgnoreCase)
                || line.StartsWith("Secure Renegotiation", StringComparison.Ordinal) || line.StartsWith("Compression", StringComparison.Ordinal)
                || line.StartsWith("RENEGOTIATING", StringComparison.Ordinal))
            {
                builder.Append("\n  ").Append(line.TrimEnd('\r'));
            }
        }

        return builder.ToString();
    }
}
