using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace MtlsGate.Tests.BlackBox;

/// <summary>
/// The published <c>demo</c> verb running as a child process: started, its output collected, and ready
/// once it has printed its instructions (the curl commands, the folder of its throwaway PKI).
/// Disposing kills it if it still runs and removes a folder it left behind.
/// </summary>
public sealed partial class DemoProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _printed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DemoProcess(Process process) => Process = process;

    public Process Process { get; }

    /// <summary>Everything printed so far (stderr lines prefixed).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The throwaway PKI folder the demo printed (empty before it is ready).</summary>
    public string Folder => DemoFolder().Match(Output).Groups[1].Value;

    [GeneratedRegex(@"Throwaway PKI in (\S+) \(deleted on exit\)")]
    private static partial Regex DemoFolder();

    /// <summary>Starts <c>EXECUTABLE demo</c> on free ports and waits until it printed "Press Ctrl+C to stop.".</summary>
    public static async Task<DemoProcess> StartAsync(string executable, TimeSpan ready)
    {
        var psi = ProcessRunner.StartInfo(executable, ["demo", "--port", "0", "--management-port", "0"]);
        psi.RedirectStandardInput = false;
        var demo = new DemoProcess(new Process { StartInfo = psi });
        demo.Process.OutputDataReceived += (_, e) => demo.Append(e.Data, "");
        demo.Process.ErrorDataReceived += (_, e) => demo.Append(e.Data, "stderr: ");
        demo.Process.Start();
        demo.Process.BeginOutputReadLine();
        demo.Process.BeginErrorReadLine();
        try
        {
            await demo._printed.Task.WaitAsync(ready);
        }
        catch (TimeoutException)
        {
            await demo.DisposeAsync();
            throw new TimeoutException($"demo did not print its instructions within {ready}:\n{demo.Output}");
        }

        return demo;
    }

    private void Append(string? line, string prefix)
    {
        lock (_output)
        {
            _output.Append(prefix).AppendLine(line);
        }

        if (prefix.Length == 0 && line?.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal) == true)
        {
            _printed.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        var folder = Folder;
        ProcessRunner.Kill(Process);
        await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        Process.Dispose();
        if (folder.Length > 0 && Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
