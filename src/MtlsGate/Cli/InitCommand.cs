using System.Net;
using System.Text.Json.Nodes;
using MtlsGate.Configuration;
using MtlsGate.Tls;

namespace MtlsGate.Cli;

/// <summary>
/// <c>mtlsgate init DIR [--name HOST ...] [--rsa]</c>: a CA (ECDSA P-256 by default, RSA 2048 with
/// <c>--rsa</c>), a server certificate for the names, an empty signed CRL, and a starter
/// <c>DIR/appsettings.json</c> pointing at them, so <c>mtlsgate --config DIR/appsettings.json</c> serves.
/// </summary>
public static class InitCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var directory = args.FirstOrDefault(a => !a.StartsWith('-') && !IsOptionValue(args, a));
        if (directory is null)
        {
            Console.Error.WriteLine("usage: mtlsgate init DIR [--name HOST ...] [--rsa]");
            return CommandLine.UsageOrConfigurationError;
        }

        var folder = new CaFolder(directory);
        if (folder.Exists)
        {
            Console.Error.WriteLine($"init: '{folder.PathOf(CaFolder.CaKeyFile)}' already exists; refusing to overwrite a CA.");
            return CommandLine.UsageOrConfigurationError;
        }

        var names = Values(args, "--name");
        if (names.Count == 0)
        {
            names = ["localhost", "127.0.0.1"];
        }

        var rsa = args.Contains("--rsa");
        System.IO.Directory.CreateDirectory(folder.Directory);
        using var ca = Pki.CreateRoot($"CN=MtlsGate CA {names[0]}, O=MtlsGate", new IssueOptions { IsCertificateAuthority = true, ExtendedKeyUsages = null, Rsa = rsa });
        using var server = Pki.Issue(ca, $"CN={names[0]}", new IssueOptions
        {
            ExtendedKeyUsages = [Pki.ServerAuthOid],
            DnsNames = names.Where(n => !IPAddress.TryParse(n, out _)).ToList(),
            IpAddresses = names.Select(n => IPAddress.TryParse(n, out var ip) ? ip : null).OfType<IPAddress>().ToList(),
            NotAfter = DateTimeOffset.UtcNow.AddDays(397),
            Rsa = rsa,
        });

        folder.WriteAtomic(CaFolder.CaFile, Pki.CertificatePem(ca));
        folder.WriteAtomic(CaFolder.CaKeyFile, Pki.KeyPem(ca), secret: true);
        folder.WriteAtomic("server.pem", Pki.CertificatePem(server) + Pki.CertificatePem(ca));
        folder.WriteAtomic("server.key", Pki.KeyPem(server), secret: true);
        var record = folder.WriteCrl(ca, new IssuedRecord([], 0));
        folder.SaveRecord(record);
        folder.WriteAtomic(ConfigLayers.AppSettingsFile, StarterSettings());

        Console.Out.WriteLine($"""
            Created in {folder.Directory}:
              ca.pem, ca.key        the CA (keep ca.key secret and backed up; it never goes on the gateway host if you can help it)
              ca.crl, issued.json   the CRL the gateway reads, and what was issued
              server.pem/.key       server certificate for {string.Join(", ", names)} (replace with your public one if you have it)
              appsettings.json      a starter configuration: edit the backend address under ReverseProxy:Clusters

            Next:
              mtlsgate client issue my-phone --ca {folder.Directory}
              mtlsgate --config {folder.PathOf(ConfigLayers.AppSettingsFile)}
            """);
        return CommandLine.Ok;
    }

    private static string StarterSettings()
    {
        var settings = StarterConfig.Build(ConfigCompiler.DefaultGatewayUrl, ConfigCompiler.DefaultManagementUrl, new Uri("http://127.0.0.1:8080"),
            crls: [CaFolder.CrlFile]);
        settings["MtlsGate"]!["Policies"] = new JsonObject
        {
            ["Default"] = new JsonObject { ["TrustStore"] = "Default", ["Deny"] = new JsonObject { ["Status"] = 404 } },
        };
        return StarterConfig.ToText(settings);
    }

    /// <summary>Every value given to a repeatable option (<c>--name a --name b</c>).</summary>
    public static List<string> Values(string[] args, string option)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new List<string>();
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == option)
            {
                values.Add(args[i + 1]);
            }
        }

        return values;
    }

    /// <summary>True when <paramref name="value"/> is the value of a "--option value" pair.</summary>
    public static bool IsOptionValue(string[] args, string value)
    {
        ArgumentNullException.ThrowIfNull(args);
        var index = Array.IndexOf(args, value);
        return index > 0 && args[index - 1].StartsWith("--", StringComparison.Ordinal) && !Flags.Contains(args[index - 1]);
    }

    /// <summary>Options that take no value.</summary>
    private static readonly string[] Flags = ["--rsa", "--compatible", "--pem"];
}
