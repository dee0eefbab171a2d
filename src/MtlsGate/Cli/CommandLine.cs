using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Configuration;
using MtlsGate.Hosting;

namespace MtlsGate.Cli;

/// <summary>Dispatches the verbs of the command-line contract (see ARCHITECTURE.md).</summary>
public static class CommandLine
{
    public const int Ok = 0;
    public const int Denied = 1;
    public const int UsageOrConfigurationError = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : null;
        var rest = verb is null ? args : args[1..];
        switch (verb)
        {
            case null:
                return await ServeAsync(rest).ConfigureAwait(false);
            case "demo":
                return await DemoCommand.RunAsync(rest).ConfigureAwait(false);
            case "healthcheck":
                return await HealthcheckCommand.RunAsync(rest).ConfigureAwait(false);
            case "init":
                return InitCommand.Run(rest);
            case "client" when rest.Length > 0 && rest[0] == "enroll":
                return await EnrollCommand.RunAsync(rest[1..]).ConfigureAwait(false);
            case "client":
                return ClientCommands.Run(rest);
            case "verify":
                return VerifyCommand.Run(rest);
            case "check":
                return CheckCommand.Run(rest);
            case "help" or "--help" or "-h":
                Console.Out.Write(Usage);
                return Ok;
            default:
                await Console.Error.WriteLineAsync($"mtlsgate: unknown verb '{verb}'.\n{Usage}").ConfigureAwait(false);
                return UsageOrConfigurationError;
        }
    }

    public const string Usage = """
        Usage:
          mtlsgate [--config FILE] [--Section:Key=value ...]   serve with the layered configuration
          mtlsgate demo [--port N] [--management-port N]       throwaway PKI + echo backend, prints curl commands
          mtlsgate healthcheck [--config FILE]                 exit 0 when /healthz answers 200, else 1
          mtlsgate init DIR [--name HOST ...] [--rsa]          a CA, a server certificate and a starter appsettings.json
          mtlsgate client issue NAME [--ca DIR] [--password P] [--days N] [--out FILE] [--compatible]
          mtlsgate client revoke NAME|SERIAL [--ca DIR]        re-signs the CRL the gateway reloads
          mtlsgate client list [--ca DIR]                      issued certificates, expiry, revocation
          mtlsgate client enroll NAME [--config FILE] [--compatible]
                                                               a one-time enrolment link (QR code) and its password
          mtlsgate check [--config FILE]                       validate the configuration, print every route's policy
          mtlsgate verify CERT [--chain FILE] [--path P] [--at TIME] [--config FILE]
                                                               would the gateway accept CERT, and why (exit 0 yes, 1 no, 2 error)

        """;

    /// <summary>Serves until SIGTERM/Ctrl+C. Configuration errors: all printed, exit 2.</summary>
    public static async Task<int> ServeAsync(string[] args)
    {
        var build = Build(args);
        if (build.App is null)
        {
            await ReportErrorsAsync(build.Errors).ConfigureAwait(false);
            return UsageOrConfigurationError;
        }

        try
        {
            await build.App.RunAsync().ConfigureAwait(false);
            return Ok;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or AggregateException or System.Net.Sockets.SocketException)
        {
            // Bind failures and YARP's own route/cluster validation land here.
            await ReportErrorsAsync([ex.GetBaseException().Message]).ConfigureAwait(false);
            return UsageOrConfigurationError;
        }
        finally
        {
            await build.App.DisposeAsync().ConfigureAwait(false);
        }
    }

    public static async Task ReportErrorsAsync(IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        await Console.Error.WriteLineAsync($"mtlsgate: cannot start, {errors.Count} configuration error(s):").ConfigureAwait(false);
        foreach (var error in errors)
        {
            await Console.Error.WriteLineAsync($"  - {error}").ConfigureAwait(false);
        }
    }

    /// <summary>The gateway as <c>mtlsgate [--config FILE] [--Section:Key=value ...]</c> builds it.</summary>
    public static GatewayBuild Build(string[] args, bool includeAppSettings = true, Action<IServiceCollection>? services = null) =>
        GatewayApp.Build(OptionValue(args, "--config"), args, includeAppSettings, services);

    /// <summary>The layered configuration (<see cref="ConfigLayers"/>) with the <c>--config</c> file of <paramref name="args"/>.</summary>
    public static IConfigurationRoot LoadConfiguration(string[] args, out string baseDirectory, out string? error, bool includeAppSettings = true) =>
        ConfigLayers.Load(OptionValue(args, "--config"), args, out baseDirectory, out error, includeAppSettings);

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
