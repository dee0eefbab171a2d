using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace MtlsGate.Tests.BlackBox;

/// <summary>
/// The published binary serving <c>--config FILE</c>: stdout/stderr captured, ports read from the
/// "MtlsGate listening" line, ready once <c>/healthz</c> answers 200, killed on dispose.
/// </summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<(int Gateway, int Management)> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private bool _disposed;

    private GatewayProcess(Process process) => _process = process;

    public int GatewayPort { get; private set; }

    public int ManagementPort { get; private set; }

    public string GatewayUrl => $"https://127.0.0.1:{GatewayPort.ToString(CultureInfo.InvariantCulture)}";

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    [GeneratedRegex(@"MtlsGate listening: gateway https://[^\s,]*?:(?<gateway>\d+)/?.*management http://[^\s,]*?:(?<management>\d+)/?")]
    private static partial Regex ListeningLine();

    public static async Task<GatewayProcess> StartAsync(PublishedGatewayFixture fixture, string configFile, params string[] extraArguments)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        var psi = ProcessRunner.StartInfo(fixture.Executable, ["--config", configFile, .. extraArguments], Path.GetDirectoryName(configFile));
        psi.RedirectStandardInput = false;
        // As deployed: the binary points OpenSSL at its own openssl-mtlsgate.cnf; the test host's
        // OPENSSL_CONF (tests/OpenSslRunSettings.targets) would otherwise be inherited and kept.
        psi.Environment.Remove("OPENSSL_CONF");
        var gateway = new GatewayProcess(new Process { StartInfo = psi, EnableRaisingEvents = true });
        gateway.Start();
        try
        {
            await gateway.WaitUntilReadyAsync();
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }

        return gateway;
    }

    private void Start()
    {
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_stdout)
            {
                _stdout.AppendLine(e.Data);
            }

            var match = ListeningLine().Match(e.Data);
            if (match.Success)
            {
                _listening.TrySetResult((
                    int.Parse(match.Groups["gateway"].Value, CultureInfo.InvariantCulture),
                    int.Parse(match.Groups["management"].Value, CultureInfo.InvariantCulture)));
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException("The gateway exited before listening."));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private async Task WaitUntilReadyAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        try
        {
            (GatewayPort, ManagementPort) = await _listening.Task.WaitAsync(cts.Token);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var health = new Uri($"http://127.0.0.1:{ManagementPort.ToString(CultureInfo.InvariantCulture)}/healthz");
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        using var response = await http.GetAsync(health, cts.Token);
                        return response.StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                StartTimeout,
                "the published gateway answers /healthz");
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or Xunit.Sdk.XunitException)
        {
            if (_process.HasExited)
            {
                // Waits for the end of the redirected output, so Describe() shows the last lines.
                await _process.WaitForExitAsync();
            }

            throw new InvalidOperationException($"The gateway did not become ready: {ex.Message}\n{Describe()}", ex);
        }
    }

    public string Describe() =>
        $"exited: {_process.HasExited}{(_process.HasExited ? $" (code {_process.ExitCode.ToString(CultureInfo.InvariantCulture)})" : "")}\n--- gateway stdout ---\n{StandardOutput}\n--- gateway stderr ---\n{StandardError}";

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ProcessRunner.Kill(_process);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }

        _process.Dispose();
    }
}
