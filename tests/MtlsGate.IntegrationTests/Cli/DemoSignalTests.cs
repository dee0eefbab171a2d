using System.Globalization;
using MtlsGate.Tests.BlackBox;

namespace MtlsGate.Tests.Cli;

/// <summary>
/// The published <c>demo</c> cleans up on SIGHUP (the terminal was closed) as it does on SIGTERM: the
/// process exits and its temporary folder, private keys included, is gone.
/// </summary>
[Collection(BlackBoxTests.Name)]
public sealed class DemoSignalTests(PublishedGatewayFixture fixture)
{
    [SkippableFact]
    public async Task Demo_OnSighup_ExitsAndDeletesItsFolderWithThePrivateKeys()
    {
        await using var demo = await DemoProcess.StartAsync(fixture.Executable, TimeSpan.FromSeconds(60));
        var folder = demo.Folder;
        Assert.True(File.Exists(Path.Combine(folder, "client.key")), demo.Output);
        Assert.True(File.Exists(Path.Combine(folder, "server.key")), demo.Output);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "client.key")));
        }

        var hangup = await ProcessRunner.RunAsync("kill", ["-HUP", demo.Process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5));
        Assert.True(hangup.ExitCode == 0, hangup.ToString());
        using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await demo.Process.WaitForExitAsync(exited.Token);

        Assert.False(Directory.Exists(folder), $"{folder} (with the private keys) is still there after SIGHUP; exit {demo.Process.ExitCode}\n{demo.Output}");
    }
}
