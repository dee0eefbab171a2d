using System.Diagnostics;
using MtlsGate.Tests.TestSupport;
using System.Net;
using System.Net.Sockets;

namespace MtlsGate.Tests.Tools.Oidc;

/// <summary>
/// A real OpenID Connect provider on loopback: npm <c>oidc-provider</c> 9 (installed globally:
/// <c>npm install -g oidc-provider@9.13.3</c>, as <c>.ci/run</c> does) running <c>provider.mjs</c> on the
/// installed Node, with one confidential client whose redirect URI is the gateway's callback. Missing
/// node/npm/the package: the test is skipped naming the install command (a failure under MTLSGATE_REQUIRE_TOOLS=1).
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    public const string InstallCommand = "npm install -g oidc-provider@9.13.3";
    public const string ClientId = "mtlsgate";
    public const string ClientSecret = "test-secret";

    private readonly Process _process;

    private OidcProvider(Process process, Uri issuer)
    {
        _process = process;
        Issuer = issuer;
    }

    public Uri Issuer { get; }

    /// <summary>Starts the provider for a gateway that will listen on <paramref name="gatewayPort"/>.</summary>
    public static async Task<OidcProvider> StartAsync(int gatewayPort)
    {
        var node = Tool.Require("node");
        var npm = Tool.Require("npm");
        var root = await ProcessRunner.RunAsync(npm, ["root", "-g"], TimeSpan.FromSeconds(30));
        var entry = Path.Combine(root.StandardOutput.Trim(), "oidc-provider", "lib", "index.js");
        if (!File.Exists(entry))
        {
            throw Tool.Missing($"the npm package oidc-provider is not installed globally (no {entry})", InstallCommand);
        }

        var port = FreePort();
        var script = Path.Combine(AppContext.BaseDirectory, "Tools", "Oidc", "provider.mjs");
        var start = new ProcessStartInfo(node) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { script, entry, port.ToString(System.Globalization.CultureInfo.InvariantCulture), $"https://localhost:{gatewayPort}/.mtlsgate/oidc/callback" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("ready ", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult(e.Data[6..]);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var finished = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        if (finished != ready.Task)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw new InvalidOperationException("oidc-provider did not start: " + errors);
        }

        return new OidcProvider(process, new Uri(await ready.Task));
    }

    /// <summary>A port free right now on 127.0.0.1 (the provider and gateway must know each other's before either listens).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
