using System.Diagnostics;
using System.Text;

namespace MtlsGate.Tests.TestSupport;

/// <summary>What a finished (or timed-out and killed) process left behind.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError, bool TimedOut)
{
    public void Deconstruct(out int exitCode, out string standardOutput, out string standardError) =>
        (exitCode, standardOutput, standardError) = (ExitCode, StandardOutput, StandardError);

    public override string ToString() =>
        $"exit {ExitCode}{(TimedOut ? " (timed out, killed)" : "")}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// Runs an external program with an argument list (no shell), optional stdin, and a hard timeout (then it is killed
/// and <see cref="ProcessResult.TimedOut"/> is set). A bare program name goes through <see cref="Tool.Resolve"/>: a
/// missing tool skips the test, or fails it under <c>MTLSGATE_REQUIRE_TOOLS=1</c>.
/// </summary>
public static class ProcessRunner
{
    /// <summary>The bound on one outside program or CLI run when the caller names none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        // A bare program name must be installed, else the test is skipped (Tools/Tool.cs).
        var psi = new ProcessStartInfo(Tool.Resolve(fileName))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        // The gateway layers environment variables over its configuration: keep the test host's out.
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("MtlsGate", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("ReverseProxy", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(name);
        }

        return psi;
    }

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/>, bounded by <see cref="DefaultTimeout"/>.</summary>
    public static Task<ProcessResult> RunAsync(string fileName, params string[] arguments) =>
        RunAsync(fileName, arguments, DefaultTimeout);

    /// <summary>
    /// The gateway's CLI as built beside the tests, <c>dotnet mtlsgate.dll ARGS</c>, in the test's working directory
    /// (the test output folder), bounded by <see cref="DefaultTimeout"/>.
    /// </summary>
    public static Task<ProcessResult> GateAsync(params string[] arguments) =>
        RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "mtlsgate.dll"), .. arguments], DefaultTimeout, workingDirectory: Environment.CurrentDirectory);

    public static Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? stdin = null, string? workingDirectory = null) =>
        RunAsync(StartInfo(fileName, arguments, workingDirectory), timeout, stdin);

    public static async Task<ProcessResult> RunAsync(ProcessStartInfo psi, TimeSpan timeout, string? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(psi);
        using var process = new Process { StartInfo = psi };
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
                await process.StandardInput.FlushAsync();
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process may exit before reading its input (e.g. a failed handshake).
        }

        var timedOut = false;
        using (var cts = new CancellationTokenSource(timeout))
        {
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                Kill(process);
                await process.WaitForExitAsync();
            }
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr, timedOut);
    }

    public static void Kill(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
