using MtlsGate.Configuration;
using MtlsGate.Management;

namespace MtlsGate.Cli;

/// <summary><c>mtlsgate healthcheck</c>: asks the management listener's /healthz (the runtime image has no curl).</summary>
public static class HealthcheckCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = CommandLine.LoadConfiguration(args, out _, out var error);
        if (error is not null)
        {
            await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            return CommandLine.UsageOrConfigurationError;
        }

        var url = configuration["MtlsGate:Listen:Management"] ?? ConfigCompiler.DefaultManagementUrl;
        if (!Uri.TryCreate(url.Replace("://*", "://127.0.0.1", StringComparison.Ordinal).Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
                .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://[::1]", StringComparison.Ordinal), UriKind.Absolute, out var baseUri))
        {
            await Console.Error.WriteLineAsync($"MtlsGate:Listen:Management: '{url}' is not a URL.").ConfigureAwait(false);
            return CommandLine.UsageOrConfigurationError;
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(new Uri(baseUri, ManagementEndpoints.HealthPath)).ConfigureAwait(false);
            Console.Out.WriteLine($"{(int)response.StatusCode} {response.StatusCode}");
            return response.IsSuccessStatusCode ? CommandLine.Ok : CommandLine.Denied;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"unhealthy: {ex.Message}").ConfigureAwait(false);
            return CommandLine.Denied;
        }
    }
}
