using System.Globalization;
using System.Security.Cryptography;
using MtlsGate.Policy;
using MtlsGate.Text;
using MtlsGate.Tls;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Cli;

/// <summary>
/// <c>mtlsgate client issue|revoke|list</c>: phone-ready PKCS#12 client certificates from the CA
/// folder <c>init</c> made, revocation through the CRL the gateway reloads, and the inventory.
/// Options: <c>--ca DIR</c> (default the current folder), <c>--password P</c> (else generated and
/// printed once), <c>--days N</c> (default 365), <c>--out FILE</c>, <c>--compatible</c>, <c>--pem</c>.
/// Every secret is written through <see cref="PrivateFile"/> (created 0600, replaced atomically).
/// </summary>
public static class ClientCommands
{
    private const string Usage = "usage: mtlsgate client issue NAME [--ca DIR] [--password P] [--days N] [--out FILE] [--compatible] [--pem]\n" +
                                 "       mtlsgate client revoke NAME|SERIAL [--ca DIR] [--config FILE]\n" +
                                 "       mtlsgate client list [--ca DIR] [--config FILE]\n" +
                                 "       mtlsgate client block|unblock SHA256 [--ca DIR] [--config FILE]";

    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var action = args.FirstOrDefault();
        var rest = args.Skip(1).ToArray();
        var folder = new CaFolder(CommandLine.OptionValue(rest, "--ca") ?? ".");
        if (action is not ("issue" or "revoke" or "list" or "block" or "unblock"))
        {
            Console.Error.WriteLine(Usage);
            return CommandLine.UsageOrConfigurationError;
        }

        var target = rest.FirstOrDefault(a => !a.StartsWith('-') && !InitCommand.IsOptionValue(rest, a));
        if (action is "block" or "unblock")
        {
            return Block(folder, target, rest, action == "block");
        }

        if (!folder.Exists && !(action == "list" && CommandLine.OptionValue(rest, "--config") is not null))
        {
            Console.Error.WriteLine($"client: no CA in '{folder.Directory}' (expected {CaFolder.CaFile} and {CaFolder.CaKeyFile}; create one with 'mtlsgate init DIR', or pass --ca DIR).");
            return CommandLine.UsageOrConfigurationError;
        }

        return action switch
        {
            "issue" => Issue(folder, target, rest),
            "revoke" => Revoke(folder, target, rest),
            _ => List(folder, rest),
        };
    }

    private static int Issue(CaFolder folder, string? name, string[] args)
    {
        if (name is null || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@'))
        {
            Console.Error.WriteLine("client issue: NAME is required: 1-64 characters of letters, digits, '-', '_', '.', '@'.\n" + Usage);
            return CommandLine.UsageOrConfigurationError;
        }

        var daysText = CommandLine.OptionValue(args, "--days");
        var days = 365;
        if (daysText is not null && (!int.TryParse(daysText, NumberStyles.None, CultureInfo.InvariantCulture, out days) || days is < 1 or > 3650))
        {
            Console.Error.WriteLine("client issue: --days takes a number from 1 to 3650.");
            return CommandLine.UsageOrConfigurationError;
        }

        var compatible = args.Contains("--compatible");
        var givenPassword = CommandLine.OptionValue(args, "--password");
        var password = givenPassword ?? GeneratePassword();
        var output = Path.GetFullPath(CommandLine.OptionValue(args, "--out") ?? Path.Combine(folder.Directory, "clients", name + ".p12"));
        var pem = args.Contains("--pem");
        var pemFile = Path.ChangeExtension(output, ".pem");
        var keyFile = Path.ChangeExtension(output, ".key");
        if (pem && (pemFile == output || keyFile == output))
        {
            Console.Error.WriteLine($"client issue: with --pem the PKCS#12 file needs another extension than .pem/.key (got '{output}').");
            return CommandLine.UsageOrConfigurationError;
        }

        var (leaf, issued) = folder.IssueClient(name, days, DateTimeOffset.UtcNow);
        using var owned = leaf;

        // Key + full chain, leaf first (then the CA). The default is PBES2/AES-256/SHA-256; --compatible
        // writes the 3DES/SHA-1 form that older Android and iOS importers need.
        using var caCertificate = X509CertificateLoader.LoadCertificateFromFile(folder.PathOf(CaFolder.CaFile));
        X509Certificate2[] chain = [caCertificate];
        PrivateFile.CreateFolder(Path.GetDirectoryName(output)!);
        PrivateFile.Write(output, Pki.ExportPkcs12(leaf, chain, password, compatible));
        if (pem)
        {
            File.WriteAllText(pemFile, Pki.CertificatePem(leaf) + string.Concat(chain.Select(Pki.CertificatePem)));
            PrivateFile.Write(keyFile, Pki.KeyPem(leaf));
        }

        Console.Out.WriteLine($"""
            Issued '{name}': serial {issued.Serial}, expires {issued.NotAfter:yyyy-MM-dd} ({days} days)
              sha256 {issued.Sha256}
              file   {output} ({(compatible ? "3DES/SHA-1, for older importers" : "AES-256/SHA-256; use --compatible if an importer refuses it")})
            {(pem ? $"  pem    {pemFile} (certificate, then the CA)\n  key    {keyFile} (private key, unencrypted, mode 600)\n" : "")}{(givenPassword is null ? $"  password {password}   (shown once: write it down now)" : "  password as given")}

            Import it:
              Bitwarden Android (2025.2+) and iOS (mid-2025+): when adding the self-hosted server, use the app's client-certificate (mTLS)
                option to import this .p12 with its password, or install it in the system store first and pick it there.
              Android system store (browsers, other apps): Settings > Security > Encryption & credentials > Install a certificate > VPN & app user certificate.
              iOS profile (Safari): AirDrop/mail the .p12, open it, Settings > Profile Downloaded > Install, enter the password.
              Desktop browsers: Firefox Settings > Certificates > Your Certificates > Import; Chrome/Edge use the OS store (Windows: double-click; macOS: Keychain Access > Import).
            """);
        return CommandLine.Ok;
    }

    private static int Revoke(CaFolder folder, string? target, string[] args)
    {
        if (target is null)
        {
            Console.Error.WriteLine("client revoke: give the NAME or the SERIAL (hex) of the certificate.\n" + Usage);
            return CommandLine.UsageOrConfigurationError;
        }

        var matches = folder.Revoke(target, DateTimeOffset.UtcNow);
        if (matches.Count == 0)
        {
            Console.Error.WriteLine($"client revoke: no unrevoked certificate named or numbered '{target}' in {folder.PathOf(CaFolder.IssuedFile)}.");
            return CommandLine.Denied;
        }

        foreach (var revoked in matches)
        {
            Console.Out.WriteLine($"Revoked '{revoked.Name}' serial {revoked.Serial}. {folder.PathOf(CaFolder.CrlFile)} re-signed; a running gateway refuses it within seconds.");
        }

        // Also in the device inventory, when there is one: every replica denies it at its next poll,
        // even one whose trust store does not list this CRL.
        var (inventory, _) = ClientInventory.Open(args, folder);
        if (inventory is not null)
        {
            using var owned = new SyncDispose(inventory);
            foreach (var revoked in matches)
            {
                inventory.Store.SetStatusAsync(revoked.Sha256, Devices.DeviceStatus.Revoked, Devices.DeviceActions.CliActor, DateTimeOffset.UtcNow, default).GetAwaiter().GetResult();
            }
        }

        return CommandLine.Ok;
    }

    private static int List(CaFolder folder, string[] args)
    {
        var now = DateTimeOffset.UtcNow;
        var (inventory, note) = ClientInventory.Open(args, folder);
        using var owned = inventory is null ? null : new SyncDispose(inventory);
        IReadOnlyList<Devices.DeviceRecord> devices;
        try
        {
            devices = inventory?.All(now) ?? [];
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or TimeoutException or InvalidOperationException)
        {
            devices = [];
            note = $"the device inventory ({inventory!.Snapshot.Store.KindName} at {inventory.Snapshot.Store.Display}) is unavailable: {ex.Message}";
        }

        var seen = devices.ToDictionary(d => d.Sha256, StringComparer.OrdinalIgnoreCase);
        var issued = folder.Exists ? folder.LoadRecord().Certificates : [];
        if (folder.Exists)
        {
            Console.Out.WriteLine($"{"NAME",-24} {"SERIAL",-34} {"EXPIRES",-10} {"DAYS",5}  {"STATE",-18} {"LAST SEEN",-16} {"ALLOW/DENY",-11} DEVICE");
            foreach (var c in issued.OrderBy(c => c.Name, StringComparer.Ordinal).ThenBy(c => c.IssuedAt))
            {
                var days = CertificateExpiry.DaysLeft(c.NotAfter, now);
                var state = c.RevokedAt is not null ? $"revoked {c.RevokedAt:yyyy-MM-dd}" : days < 0 ? "expired" : days <= 30 ? "expiring" : "valid";
                seen.TryGetValue(c.Sha256, out var device);
                // issued.json is a file anyone with write access could edit: encode like the logs (no control characters reach the terminal).
                Console.Out.WriteLine($"{HeaderEncoding.Encode(c.Name),-24} {HeaderEncoding.Encode(c.Serial),-34} {c.NotAfter:yyyy-MM-dd} {days,5}  {state,-18} {ClientInventory.LastSeen(device),-16} {ClientInventory.Requests(device),-11} {(inventory is null ? "-" : ClientInventory.Status(device))}");
            }
        }

        var others = devices.Where(d => !issued.Any(c => string.Equals(c.Sha256, d.Sha256, StringComparison.OrdinalIgnoreCase))).ToList();
        if (others.Count != 0)
        {
            Console.Out.WriteLine();
            Console.Out.WriteLine(folder.Exists ? "Other devices in the gateway's inventory:" : "Devices in the gateway's inventory:");
            ClientInventory.WriteOthers(Console.Out, others, now);
        }

        if (note is not null)
        {
            Console.Out.WriteLine($"(inventory: {note})");
        }

        return CommandLine.Ok;
    }

    /// <summary><c>client block|unblock SHA256</c>: the inventory's block list (no CA key needed), recorded as done by "cli".</summary>
    private static int Block(CaFolder folder, string? target, string[] args, bool block)
    {
        var verb = block ? "block" : "unblock";
        if (Devices.DeviceActions.NormalizeFingerprint(target) is null)
        {
            Console.Error.WriteLine($"client {verb}: give the SHA-256 fingerprint of the certificate (64 hex digits, as 'client list' and the logs show it).\n" + Usage);
            return CommandLine.UsageOrConfigurationError;
        }

        var (inventory, note) = ClientInventory.Open(args, folder);
        if (inventory is null)
        {
            Console.Error.WriteLine($"client {verb}: {note}.");
            return CommandLine.UsageOrConfigurationError;
        }

        using var owned = new SyncDispose(inventory);
        var actions = inventory.Actions();
        var result = (block ? actions.BlockAsync(target!, Devices.DeviceActions.CliActor, default) : actions.UnblockAsync(target!, Devices.DeviceActions.CliActor, default)).GetAwaiter().GetResult();
        (result.Ok ? Console.Out : Console.Error).WriteLine($"client {verb}: {result.Message}");
        return result.Ok ? CommandLine.Ok : CommandLine.Denied;
    }

    /// <summary>Disposes an async-disposable at the end of a synchronous command.</summary>
    private sealed class SyncDispose(IAsyncDisposable owned) : IDisposable
    {
        public void Dispose() => owned.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static string GeneratePassword()
    {
        const string Alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return string.Create(20, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
            }
        });
    }
}
