using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MtlsGate.Tests.BlackBox;

namespace MtlsGate.Tests.Cli;

/// <summary>
/// The published <c>demo</c> cleans up on SIGHUP (the terminal was closed) as it does on SIGTERM: the
/// process exits and its temporary folder, private keys included, is gone.
/// </summary>
[Collection(BlackBoxTests.Name)]
public sealed partial class DemoSignalTests(PublishedGatewayFixture fixture)
{
    [GeneratedRegex(@"Throwaway PKI in (\S+) \(deleted on exit\)")]
    private static partial Regex DemoFolder();

    [SkippableFact]
    public async Task Demo_OnSighup_ExitsAndDeletesItsFolderWithThePrivateKeys()
    {
        var psi = ProcessRunner.StartInfo(fixture.Executable, ["demo", "--port", "0", "--management-port", "0"]);
        psi.RedirectStandardInput = false;
        using var demo = new System.Diagnostics.Process { StartInfo = psi };
        var output = new StringBuilder();
        var printed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        demo.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
                if (e.Data?.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal) == true)
                {
                    printed.TrySetResult();
                }
            }
        };
        demo.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.Append("stderr: ").AppendLine(e.Data);
            }
        };
        demo.Start();
        demo.BeginOutputReadLine();
        demo.BeginErrorReadLine();
        string folder = "";
        try
        {
            await printed.Task.WaitAsync(TimeSpan.FromSeconds(60));
            lock (output)
            {
                folder = DemoFolder().Match(output.ToString()).Groups[1].Value;
            }

            Assert.True(File.Exists(Path.Combine(folder, "client.key")), output.ToString());
            Assert.True(File.Exists(Path.Combine(folder, "server.key")), output.ToString());
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "client.key")));
            }

            var hangup = await ProcessRunner.RunAsync("kill", ["-HUP", demo.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5));
            Assert.True(hangup.ExitCode == 0, hangup.ToString());
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await demo.WaitForExitAsync(exited.Token);

            Assert.False(Directory.Exists(folder), $"{folder} (with the private keys) is still there after SIGHUP; exit {demo.ExitCode}\n{output}");
        }
        finally
        {
            ProcessRunner.Kill(demo);
            if (folder.Length > 0 && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
