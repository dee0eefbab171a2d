using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Denials;
using MtlsGate.Logging;
using MtlsGate.Management;
using MtlsGate.Proxy;
using MtlsGate.Tls;
using Serilog;
using Serilog.Formatting;
using Serilog.Formatting.Display;
using Log = MtlsGate.Logging.Log;

namespace MtlsGate.Hosting;

/// <summary>The result of building the gateway: a ready app, or every configuration error.</summary>
public sealed record GatewayBuild(WebApplication? App, GatewayState? State, IReadOnlyList<string> Errors);

/// <summary>Builds the gateway host from the layered configuration (the same code for serve, demo and tests).</summary>
public static class GatewayApp
{
    public const string AppSettingsFile = "appsettings.json";

    /// <summary>
    /// Configuration layers: <c>appsettings.json</c> beside the binary → <c>--config FILE</c> →
    /// environment variables → command line. Relative paths resolve against the directory of the
    /// main configuration file: the <c>--config</c> file when given, else <c>appsettings.json</c>.
    /// </summary>
    public static IConfigurationRoot LoadConfiguration(string[] args, out string baseDirectory, out string? error, bool includeAppSettings = true) =>
        LoadConfiguration(args, out baseDirectory, out error, out _, includeAppSettings);

    public static IConfigurationRoot LoadConfiguration(string[] args, out string baseDirectory, out string? error, out List<string> files, bool includeAppSettings = true)
    {
        ArgumentNullException.ThrowIfNull(args);
        error = null;
        files = [];
        var builder = new ConfigurationBuilder();
        baseDirectory = AppContext.BaseDirectory;
        if (includeAppSettings)
        {
            // reloadOnChange stays off: the reloader polls and calls Reload() itself (works on any mount).
            var appSettings = Path.Combine(AppContext.BaseDirectory, AppSettingsFile);
            builder.AddJsonFile(appSettings, optional: true, reloadOnChange: false);
            files.Add(appSettings);
        }

        var configFile = OptionValue(args, "--config");
        if (configFile is not null)
        {
            var full = Path.GetFullPath(configFile);
            if (!File.Exists(full))
            {
                error = $"--config: file '{full}' does not exist.";
            }
            else
            {
                builder.AddJsonFile(full, optional: false, reloadOnChange: false);
                baseDirectory = Path.GetDirectoryName(full)!;
                files.Add(full);
            }
        }

        builder.AddEnvironmentVariables();
        builder.AddCommandLine(args);
        try
        {
            return builder.Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException)
        {
            error = $"configuration: {ex.Message}";
            return new ConfigurationBuilder().Build();
        }
    }

    public static GatewayBuild Build(string[] args, bool includeAppSettings = true, Action<IServiceCollection>? services = null)
    {
        // prometheus-net's set-up compiles a Regex (Reflection.Emit, then JIT) in a static constructor:
        // start it now, on another core, while the configuration is compiled. It runs once per process;
        // the call further down waits for it.
        _ = Task.Run(GatewayMetrics.ConfigurePrometheus);
        var configuration = LoadConfiguration(args, out var baseDirectory, out var error, out var files, includeAppSettings);
        if (error is not null)
        {
            return new GatewayBuild(null, null, [error]);
        }

        var (snapshot, errors) = ConfigCompiler.Compile(configuration, baseDirectory);
        if (snapshot is null)
        {
            return new GatewayBuild(null, null, errors);
        }

        var state = new GatewayState(snapshot);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = configuration["Environment"] ?? Environments.Production,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.ClearProviders();
        foreach (var category in CategoriesThatLogRequestTargets)
        {
            builder.Logging.AddFilter(category, LogLevel.Warning);
        }

        // writeToProviders: extra ILoggerProviders (tests' capture) receive the same events as Serilog.
        // preserveStaticLogger: each host keeps its own logger; the static Log.Logger would route every
        // host of a process (tests, demo) through whichever was built last.
        builder.Services.AddSerilog((_, logger) => ConfigureSerilog(logger, configuration), preserveStaticLogger: true, writeToProviders: true);
        builder.Services.AddSingleton(state);
        // SIGTERM: Kestrel stops accepting, in-flight requests get up to the drain time, then exit 0.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = snapshot.Limits.DrainTimeout);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(configuration);
        builder.Services.AddSingleton(new GatewayInputs(baseDirectory, files));
        builder.Services.AddSingleton<ExpiryMonitor>();
        GatewayMetrics.ConfigurePrometheus();
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton<CrlFetcher>();
        builder.Services.AddSingleton<ReloadService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReloadService>());
        // Nothing the gateway does needs persisted data-protection keys (and the root filesystem may be read-only).
        builder.Services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(
            new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        builder.WebHost.ConfigureKestrel((context, kestrel) => GatewayListener.Configure(kestrel, state, kestrel.ApplicationServices.GetRequiredService<TimeProvider>(), kestrel.ApplicationServices.GetRequiredService<ExpiryMonitor>(), kestrel.ApplicationServices.GetRequiredService<GatewayMetrics>()));
        builder.Services.AddMtlsGateProxy(state);
        builder.Services.AddSingleton<Yarp.ReverseProxy.Forwarder.IForwarderHttpClientFactory, BackendHttpClientFactory>();
        RemoveDataProtectionKeyRingStartup(builder.Services);
        services?.Invoke(builder.Services);

        var app = builder.Build();
        var proxyErrors = ProxyConfigCompiler.ValidateAsync(app.Services.GetRequiredService<Yarp.ReverseProxy.Configuration.IConfigValidator>(), snapshot.Proxy).GetAwaiter().GetResult();
        if (proxyErrors.Count != 0)
        {
            ((IDisposable)app).Dispose();
            return new GatewayBuild(null, null, proxyErrors);
        }

        app.UseMtlsGateManagement();
        app.UseRequestTargetCheck();
        app.UseRouting();
        app.UseEncodedSlashRouteCheck();
        app.UseMiddleware<GatewayMiddleware>();
        app.MapReverseProxy();
        app.Lifetime.ApplicationStarted.Register(() => LogStart(app, snapshot));
        return new GatewayBuild(app, state, []);
    }

    /// <summary>
    /// YARP's AddReverseProxy adds ASP.NET Core data protection, whose hosted service creates a key
    /// ring at start-up: it loads the XML stack and writes a key file under ~/.aspnet (about 0.1 s of
    /// start-up, and a write to a filesystem that may be read-only). Nothing reads that key ring: the
    /// gateway's IDataProtectionProvider is ephemeral (registered first, so data protection's own is
    /// not added). Removing the service leaves the key ring unused and never created.
    /// </summary>
    internal static void RemoveDataProtectionKeyRingStartup(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService)
                && services[i].ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService")
            {
                services.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// Framework log categories that write request targets (with query strings, where Vaultwarden
    /// puts tokens) at Information/Debug: capped at Warning whatever the configuration says.
    /// </summary>
    public static readonly string[] CategoriesThatLogRequestTargets =
    [
        HostingDiagnosticsCategory,
        "Microsoft.AspNetCore.Server.Kestrel.BadRequests",
        "Microsoft.AspNetCore.HttpLogging",
        "Yarp.ReverseProxy.Forwarder",
        "System.Net.Http.HttpClient",
    ];

    /// <summary>
    /// The Serilog assemblies the <c>Serilog</c> section can use (sinks and formatters shipped with the
    /// gateway; more with the section's <c>Using</c>), named instead of discovered: discovery reads the
    /// dependency manifests of the app and both shared frameworks at every start.
    /// </summary>
    private static readonly Serilog.Settings.Configuration.ConfigurationReaderOptions SerilogAssemblies = new(
        typeof(Serilog.Log).Assembly,
        typeof(ConsoleLoggerConfigurationExtensions).Assembly,
        typeof(FileLoggerConfigurationExtensions).Assembly,
        typeof(Serilog.Formatting.Compact.CompactJsonFormatter).Assembly);

    /// <summary>The category whose enablement makes ASP.NET Core create per-request activities and scopes.</summary>
    public const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>A Serilog level above Fatal: nothing of a category set to it is enabled.</summary>
    private const Serilog.Events.LogEventLevel Off = Serilog.Events.LogEventLevel.Fatal + 1;

    public const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Serilog from the <c>Serilog</c> section (levels per category, extra sinks). Unless that section
    /// names its own <c>WriteTo</c>, standard output gets human-readable lines, or compact JSON with
    /// <c>MtlsGate:Logging:Format: Json</c>, written in batches off the request path (<see cref="BatchedStreamSink"/>).
    /// </summary>
    public static void ConfigureSerilog(LoggerConfiguration logger, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection("Serilog");
        logger.ReadFrom.Configuration(configuration, SerilogAssemblies);
        var json = string.Equals(configuration["MtlsGate:Logging:Format"], "Json", StringComparison.OrdinalIgnoreCase);
        foreach (var category in CategoriesThatLogRequestTargets)
        {
            logger.MinimumLevel.Override(category, Serilog.Events.LogEventLevel.Warning);
        }

        // ASP.NET Core hosting starts an Activity and a logging scope for every request whenever this
        // category is enabled at any level (it checks Critical); HttpClient then starts a child Activity
        // for the backend call. The gateway reads neither, and they cost CPU on every request, so the
        // category is off entirely (above Fatal). Its only other messages, start-up failures, also
        // surface as the exception the gateway reports when it cannot start.
        logger.MinimumLevel.Override(HostingDiagnosticsCategory, Off);
        if (!section.GetSection("WriteTo").Exists())
        {
            ITextFormatter formatter = json
                ? new Serilog.Formatting.Compact.CompactJsonFormatter()
                : new MessageTemplateTextFormatter(TextTemplate, System.Globalization.CultureInfo.InvariantCulture);
            logger.WriteTo.Sink(new BatchedStreamSink(formatter, Console.OpenStandardOutput()));
        }
    }

    /// <summary>The addresses Kestrel bound, split into gateway (https) and management (http).</summary>
    public static (IReadOnlyList<Uri> Gateway, Uri? Management) BoundAddresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var uris = addresses.Select(a => new Uri(a)).ToList();
        return (uris.Where(u => u.Scheme == "https").ToList(), uris.FirstOrDefault(u => u.Scheme == "http"));
    }

    private static void LogStart(WebApplication app, GatewaySnapshot snapshot)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MtlsGate");
        var (gateway, management) = BoundAddresses(app);
        Log.Listening(logger, string.Join(", ", gateway), management?.ToString() ?? "-");
        foreach (var store in snapshot.TrustStores.Values)
        {
            Log.TrustStoreLoaded(logger, store.Name, store.Roots.Count, store.Intermediates.Count);
        }

        if (snapshot.ServerCertificate is { } server)
        {
            var days = (int)Math.Floor((server.Leaf.NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalDays);
            if (days < 30)
            {
                Log.ServerCertificateExpiry(logger, server.Leaf.Subject, server.Source, server.Leaf.NotAfter.ToUniversalTime(), days);
            }
        }
    }

    /// <summary>The value after <paramref name="name"/> (as "--name value" or "--name=value").</summary>
    public static string? OptionValue(string[] args, string name)
    {
        ArgumentNullException.ThrowIfNull(args);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == name && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                return args[i][(name.Length + 1)..];
            }
        }

        return null;
    }
}
