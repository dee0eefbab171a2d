using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Management;
using Yarp.ReverseProxy.Configuration;

namespace MtlsGate.Hosting;

/// <summary>
/// Hot reload without a restart: polls the configuration files and every file the configuration
/// names (certificates, CA bundles, CRLs, cached CRL downloads), recompiles on any change, and swaps
/// the snapshot only when the whole candidate is valid — the MtlsGate section and YARP's routes and
/// clusters alike, YARP's own validation included; otherwise the complete last good state stays
/// (routes and clusters too) and the errors are logged and kept for readiness. The files watched are
/// those of the configuration last read, refused or not, so creating the file a refused configuration
/// was missing applies it. Also fetches CRL URLs in the background, verifying each download before it
/// reaches the cache. Polling (not file-system events) works the same on bind mounts, ConfigMaps and
/// network filesystems.
/// </summary>
public sealed class ReloadService : BackgroundService
{
    // Named as the primary-constructor parameters they replace.
    private readonly GatewayState state;
    private readonly IConfigurationRoot configuration;
    private readonly GatewayInputs inputs;
    private readonly ExpiryMonitor expiry;
    private readonly CrlFetcher crlFetcher;
    private readonly IConfigValidator proxyValidator;
    private readonly TimeProvider time;
    private readonly ILogger<ReloadService> logger;
    private readonly Lock _reloadLock = new();
    private IReadOnlyList<string> _watched = [];
    private string _signature = "";
    private DateTimeOffset _nextCrlFetch = DateTimeOffset.MinValue;

    public ReloadService(GatewayState state, IConfigurationRoot configuration, GatewayInputs inputs, ExpiryMonitor expiry, CrlFetcher crlFetcher,
        IConfigValidator proxyValidator, TimeProvider time, ILogger<ReloadService> logger)
    {
        this.state = state;
        this.configuration = configuration;
        this.inputs = inputs;
        this.expiry = expiry;
        this.crlFetcher = crlFetcher;
        this.proxyValidator = proxyValidator;
        this.time = time;
        this.logger = logger;
        // Taken now, before the host starts: ExecuteAsync runs on a pool thread (.NET 10) and may
        // begin after a file has already changed, which a signature taken there would never see.
        Watch();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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

                bool changed;
                lock (_reloadLock)
                {
                    changed = Signature(_watched) != _signature;
                }

                if (changed)
                {
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
        lock (_reloadLock)
        {
            IReadOnlyList<string> errors;
            try
            {
                // This attempt covers the files as they are now: a file that cannot be read (half
                // written, bad JSON) is attempted once per change, not at every poll.
                _signature = Signature(_watched);
                configuration.Reload();
                // The files of the configuration now read, taken before they are read: a change made
                // while compiling shows in the next poll.
                Watch();
                var (snapshot, compileErrors) = ConfigCompiler.Compile(configuration, inputs.BaseDirectory);
                if (snapshot is not null)
                {
                    compileErrors = ProxyConfigCompiler.ValidateAsync(proxyValidator, snapshot.Proxy).GetAwaiter().GetResult();
                }

                if (snapshot is not null && compileErrors.Count == 0)
                {
                    var previous = state.Current;
                    if (!snapshot.GatewayEndpoints.SequenceEqual(previous.GatewayEndpoints) || snapshot.Management != previous.Management || snapshot.Limits != previous.Limits
                        || !snapshot.Edges.All.Select(e => e.Listen).SequenceEqual(previous.Edges.All.Select(e => e.Listen)))
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
    }

    /// <summary>
    /// Watches the configuration files, the files the configuration last read names (refused or not:
    /// fixing a refused one must be noticed) and those of the snapshot in force.
    /// </summary>
    private void Watch()
    {
        _watched = inputs.ConfigurationFiles
            .Concat(ConfigInputs.Files(configuration, inputs.BaseDirectory))
            .Concat(state.Current.InputFiles)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        _signature = Signature(_watched);
    }

    /// <summary>Size and modification time of every watched file (a missing file is part of the signature too).</summary>
    private static string Signature(IReadOnlyList<string> files)
    {
        var text = new StringBuilder();
        foreach (var file in files)
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

/// <summary>The background work: configuration and trust-material reloads, CRL downloads.</summary>
public static class ReloadSetup
{
    public static IServiceCollection AddMtlsGateReload(this IServiceCollection services)
    {
        services.AddSingleton<CrlFetcher>();
        services.AddSingleton<ReloadService>();
        services.AddHostedService(sp => sp.GetRequiredService<ReloadService>());
        return services;
    }
}
