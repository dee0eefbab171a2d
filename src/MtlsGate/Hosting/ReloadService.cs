using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;

namespace MtlsGate.Hosting;

/// <summary>
/// Hot reload without a restart: polls the configuration files and every file the snapshot was
/// built from (certificates, CA bundles, CRLs, cached CRL downloads), recompiles on any change, and
/// swaps the snapshot only when the whole new state is valid; otherwise the complete last good state
/// stays and the errors are logged and kept for readiness. Also fetches CRL URLs in the background,
/// verifying each download before it reaches the cache. Polling (not file-system events) works the
/// same on bind mounts, ConfigMaps and network filesystems.
/// </summary>
public sealed class ReloadService(
    GatewayState state,
    IConfigurationRoot configuration,
    GatewayInputs inputs,
    ExpiryMonitor expiry,
    TimeProvider time,
    CrlFetcher crlFetcher,
    ILogger<ReloadService> logger) : BackgroundService
{
    private string _signature = "";
    private DateTimeOffset _nextCrlFetch = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _signature = Signature(state.Current);
        expiry.CheckTrustMaterial();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(state.Current.Reload.PollInterval, time, stoppingToken).ConfigureAwait(false);
                if (time.GetUtcNow() >= _nextCrlFetch)
                {
                    await crlFetcher.FetchAllAsync(state.Current, stoppingToken).ConfigureAwait(false);
                    _nextCrlFetch = time.GetUtcNow() + state.Current.Reload.CrlRefreshInterval;
                }

                var signature = Signature(state.Current);
                if (signature != _signature)
                {
                    _signature = signature;
                    Reload();
                }

                expiry.CheckTrustMaterial();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Recompiles from the files as they are now; swaps on success, keeps the last good state otherwise.</summary>
    public bool Reload()
    {
        IReadOnlyList<string> errors;
        try
        {
            configuration.Reload();
            var (snapshot, compileErrors) = ConfigCompiler.Compile(configuration, inputs.BaseDirectory);
            if (snapshot is not null)
            {
                var previous = state.Current;
                if (!snapshot.GatewayEndpoints.SequenceEqual(previous.GatewayEndpoints) || snapshot.Management != previous.Management || snapshot.Limits != previous.Limits)
                {
                    Log.ReloadNeedsRestart(logger);
                }

                state.Swap(snapshot);
                Log.ReloadSucceeded(logger, snapshot.TrustStores.Count, snapshot.Policies.Count);
                return true;
            }

            errors = compileErrors;
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException or System.Text.Json.JsonException)
        {
            errors = [$"configuration: {ex.Message}"];
        }

        state.RejectReload(errors);
        Log.ReloadFailed(logger, errors.Count, string.Join(" | ", errors));
        return false;
    }

    /// <summary>Size and modification time of every input: configuration files and the files the snapshot uses.</summary>
    private string Signature(GatewaySnapshot snapshot)
    {
        var text = new StringBuilder();
        foreach (var file in inputs.ConfigurationFiles.Concat(snapshot.InputFiles))
        {
            var info = new FileInfo(file);
            text.Append(file).Append('|');
            if (info.Exists)
            {
                text.Append(info.Length.ToString(CultureInfo.InvariantCulture)).Append('|')
                    .Append(info.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture));
            }

            text.Append('\n');
        }

        return text.ToString();
    }
}

/// <summary>Where the configuration came from: its files and the directory relative paths resolve against.</summary>
public sealed record GatewayInputs(string BaseDirectory, IReadOnlyList<string> ConfigurationFiles);
