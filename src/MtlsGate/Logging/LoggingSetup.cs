using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Formatting;
using Serilog.Formatting.Display;

namespace MtlsGate.Logging;

/// <summary>Serilog as the logging provider, the request-target guard on framework categories, and the gateway's meter.</summary>
public static class LoggingSetup
{
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

    /// <summary>The category whose enablement makes ASP.NET Core create per-request activities and scopes.</summary>
    public const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

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

    /// <summary>A Serilog level above Fatal: nothing of a category set to it is enabled.</summary>
    private const Serilog.Events.LogEventLevel Off = Serilog.Events.LogEventLevel.Fatal + 1;

    /// <summary>Serilog (from <paramref name="configuration"/>) as the only provider, and the meter the request path records on.</summary>
    public static IHostApplicationBuilder AddMtlsGateLogging(this IHostApplicationBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Logging.ClearProviders();
        foreach (var category in CategoriesThatLogRequestTargets)
        {
            builder.Logging.AddFilter(category, LogLevel.Warning);
        }

        // writeToProviders: extra ILoggerProviders (tests' capture) receive the same events as Serilog.
        // preserveStaticLogger: each host keeps its own logger; the static Log.Logger would route every
        // host of a process (tests, demo) through whichever was built last.
        builder.Services.AddSerilog((_, logger) => ConfigureSerilog(logger, configuration), preserveStaticLogger: true, writeToProviders: true);
        builder.Services.AddSingleton<GatewayMeter>();
        return builder;
    }

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
}
