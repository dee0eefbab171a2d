using System.Diagnostics;

namespace MtlsGate.Tests.TestSupport;

/// <summary>Runs an outside program (or the CLI under test) to completion, bounded in time.</summary>
public static class Processes
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(Tool.Resolve(file)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>The gateway's CLI as built beside the tests: <c>dotnet mtlsgate.dll ARGS</c>.</summary>
    public static Task<(int ExitCode, string Output, string Error)> GateAsync(params string[] args) =>
        RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "mtlsgate.dll"), .. args]);
}
