using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using MtlsGate.Hosting;
using MtlsGate.Tls;

namespace MtlsGate.Cli;

/// <summary>
/// <c>mtlsgate demo</c>: zero set-up. A throwaway CA, server and client certificates in a temporary
/// folder, the built-in echo backend, the real gateway in front of it, and the curl commands that
/// show 200 with the certificate and 404 without. Everything is deleted on exit.
/// </summary>
public static class DemoCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!TryPort(CommandLine.OptionValue(args, "--port"), 8443, out var port) ||
            !TryPort(CommandLine.OptionValue(args, "--management-port"), 8081, out var managementPort))
        {
            await Console.Error.WriteLineAsync("demo: --port and --management-port take a number 0-65535.").ConfigureAwait(false);
            return CommandLine.UsageOrConfigurationError;
        }

        var folder = Directory.CreateTempSubdirectory("mtlsgate-demo-").FullName;
        try
        {
            var (echo, echoAddress) = await EchoBackend.StartAsync().ConfigureAwait(false);
            await using (echo.ConfigureAwait(false))
            {
                var configFile = WriteDemoFiles(folder, port, managementPort, echoAddress);
                var build = CommandLine.Build(["--config", configFile]);
                if (build.App is null)
                {
                    await CommandLine.ReportErrorsAsync(build.Errors).ConfigureAwait(false);
                    return CommandLine.UsageOrConfigurationError;
                }

                await using (build.App.ConfigureAwait(false))
                {
                    // Closing the terminal sends SIGHUP, which the host does not handle (it stops on
                    // SIGINT/SIGQUIT/SIGTERM): the process would die on the spot and leave the folder with
                    // its private keys behind. Stop gracefully instead, so the finally below deletes it.
                    // https://learn.microsoft.com/dotnet/api/system.runtime.interopservices.posixsignalregistration
                    var lifetime = build.App.Lifetime;
                    using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
                    {
                        context.Cancel = true;
                        lifetime.StopApplication();
                    });
                    try
                    {
                        await build.App.StartAsync().ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is IOException or InvalidOperationException)
                    {
                        await Console.Error.WriteLineAsync($"demo: cannot listen ({ex.GetBaseException().Message}); try --port 0 --management-port 0.").ConfigureAwait(false);
                        return CommandLine.UsageOrConfigurationError;
                    }

                    var (gateway, management) = GatewayApp.BoundAddresses(build.App);
                    PrintInstructions(folder, gateway[0].Port, management!);
                    await build.App.WaitForShutdownAsync().ConfigureAwait(false);
                }
            }

            return CommandLine.Ok;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string WriteDemoFiles(string folder, int port, int managementPort, Uri backend)
    {
        using var ca = Pki.CreateRoot("CN=MtlsGate Demo CA, O=MtlsGate demo");
        using var server = Pki.Issue(ca, "CN=localhost", new IssueOptions
        {
            ExtendedKeyUsages = [Pki.ServerAuthOid],
            DnsNames = ["localhost"],
            IpAddresses = [IPAddress.Loopback, IPAddress.IPv6Loopback],
        });
        using var client = Pki.Issue(ca, "CN=demo-phone, O=MtlsGate demo");
        File.WriteAllText(Path.Combine(folder, "ca.pem"), Pki.CertificatePem(ca));
        // The CA key stays in the throwaway folder so "Add device" on the admin page can issue (Enrollment:CaFolder).
        PrivateFile.Write(Path.Combine(folder, CaFolder.CaKeyFile), Pki.KeyPem(ca));
        File.WriteAllText(Path.Combine(folder, "server.pem"), Pki.CertificatePem(server));
        PrivateFile.Write(Path.Combine(folder, "server.key"), Pki.KeyPem(server));
        File.WriteAllText(Path.Combine(folder, "client.pem"), Pki.CertificatePem(client));
        PrivateFile.Write(Path.Combine(folder, "client.key"), Pki.KeyPem(client));

        var config = StarterConfig.Build(
            $"https://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            $"http://127.0.0.1:{managementPort.ToString(CultureInfo.InvariantCulture)}",
            backend);
        config["MtlsGate"]!["Enrollment"] = new System.Text.Json.Nodes.JsonObject { ["CaFolder"] = "." };
        var file = Path.Combine(folder, "appsettings.json");
        File.WriteAllText(file, StarterConfig.ToText(config));
        return file;
    }

    private static void PrintInstructions(string folder, int port, Uri management)
    {
        var url = $"https://localhost:{port.ToString(CultureInfo.InvariantCulture)}/hello";
        Console.Out.WriteLine($"""

            MtlsGate demo is running. Throwaway PKI in {folder} (deleted on exit).

            With the client certificate (expect 200, the echo backend shows the identity headers):
              curl --cacert {folder}/ca.pem --cert {folder}/client.pem --key {folder}/client.key {url}

            Without a certificate (expect 404 Not Found, and the backend never sees the request):
              curl -i --cacert {folder}/ca.pem {url}

            The admin page (every device that connected; block one, then run the first curl again: 404):
              {management}admin

            Health: curl {management}healthz
            Press Ctrl+C to stop.
            """);
        Console.Out.Flush();
    }

    private static bool TryPort(string? value, int fallback, out int port)
    {
        port = fallback;
        return value is null || (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535);
    }
}
