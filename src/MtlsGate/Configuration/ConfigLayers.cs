using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MtlsGate.Configuration;

/// <summary>Where the configuration came from: its files and the directory relative paths resolve against.</summary>
public sealed record GatewayInputs(string BaseDirectory, IReadOnlyList<string> ConfigurationFiles);

/// <summary>
/// The configuration layers: <c>appsettings.json</c> beside the binary → the <c>--config</c> file →
/// environment variables → command line. Relative paths resolve against the directory of the main
/// configuration file: the <c>--config</c> file when given, else <c>appsettings.json</c>. The command
/// line is parsed by <c>Cli/</c>; this takes the file it named.
/// </summary>
public static class ConfigLayers
{
    public const string AppSettingsFile = "appsettings.json";

    public static IConfigurationRoot Load(string? configFile, string[] commandLine, out string baseDirectory, out string? error, bool includeAppSettings = true) =>
        Load(configFile, commandLine, out baseDirectory, out error, out _, includeAppSettings);

    public static IConfigurationRoot Load(string? configFile, string[] commandLine, out string baseDirectory, out string? error, out List<string> files, bool includeAppSettings = true)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
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
        builder.AddCommandLine(commandLine);
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

    /// <summary>The state every floor above reads: the snapshot holder, the layered configuration (the reloader rebuilds it) and where it came from.</summary>
    public static IServiceCollection AddMtlsGateState(this IServiceCollection services, GatewayState state, IConfigurationRoot configuration, GatewayInputs inputs)
    {
        services.AddSingleton(state);
        services.AddSingleton(configuration);
        services.AddSingleton(inputs);
        return services;
    }
}
