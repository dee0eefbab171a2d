using Microsoft.Extensions.Logging.Abstractions;
using MtlsGate.Configuration;
using MtlsGate.Devices;
using MtlsGate.Policy;
using MtlsGate.Text;
using MtlsGate.Tls;

namespace MtlsGate.Cli;

/// <summary>
/// The command line's view of the gateway's device inventory: the store <c>MtlsGate:Store</c> names in the
/// configuration (<c>--config FILE</c>, else the <c>appsettings.json</c> that <c>init</c> wrote in the CA
/// folder), opened with the same code the gateway uses. A SQLite file that does not exist yet is not created.
/// </summary>
public sealed class ClientInventory : IAsyncDisposable
{
    private ClientInventory(SqlDeviceStore store, GatewaySnapshot snapshot)
    {
        Store = store;
        Snapshot = snapshot;
    }

    public SqlDeviceStore Store { get; }

    public GatewaySnapshot Snapshot { get; }

    /// <summary>The inventory, or null with the reason (no configuration, no database yet, a configuration error).</summary>
    public static (ClientInventory? Inventory, string? Note) Open(string[] args, CaFolder folder)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(folder);
        var file = CommandLine.OptionValue(args, "--config") ?? folder.PathOf(ConfigLayers.AppSettingsFile);
        if (!File.Exists(file))
        {
            return (null, "no gateway configuration (pass --config FILE) to read the device inventory from");
        }

        var configuration = ConfigLayers.Load(file, [], out var baseDirectory, out var error, includeAppSettings: false);
        if (error is not null)
        {
            return (null, error);
        }

        var (snapshot, errors) = ConfigCompiler.Compile(configuration, baseDirectory, CompileScope.TrustAndPolicies);
        if (snapshot is null)
        {
            return (null, $"the configuration '{Path.GetFullPath(file)}' is refused: {string.Join("; ", errors)}");
        }

        if (snapshot.Store.Kind == StoreKind.Sqlite && !File.Exists(snapshot.Store.ConnectionString))
        {
            return (null, $"no device inventory yet ({snapshot.Store.Display} does not exist: the gateway creates it)");
        }

        return (new ClientInventory(DeviceStoreFactory.Open(snapshot.Store), snapshot), null);
    }

    /// <summary>The same actions as the admin page, recorded with the actor <see cref="DeviceActions.CliActor"/>.</summary>
    public DeviceActions Actions() => new(Store, new DeviceBlockList(), new GatewayState(Snapshot), TimeProvider.System, NullLogger<DeviceActions>.Instance);

    /// <summary>Every device (at most 10 000, most recently seen first).</summary>
    public IReadOnlyList<DeviceRecord> All(DateTimeOffset now) =>
        Store.ListAsync(new DeviceQuery(null, null, now, Limit: 10_000), default).GetAwaiter().GetResult();

    public static string LastSeen(DeviceRecord? device) => device is null || device.LastSeen == default ? "never" : device.LastSeen.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);

    public static string Requests(DeviceRecord? device) => device is null ? "-" : $"{device.Allowed}/{device.Denied}";

    public static string Status(DeviceRecord? device) => device is null ? "unseen" : device.Status.ToString().ToLowerInvariant();

    /// <summary>The rows for devices the CA folder did not issue (or when there is no CA folder).</summary>
    public static void WriteOthers(TextWriter output, IEnumerable<DeviceRecord> devices, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(devices);
        output.WriteLine($"{"SHA256",-16}  {"SUBJECT",-40} {"EXPIRES",-10} {"DAYS",5}  {"LAST SEEN",-16} {"ALLOW/DENY",-11} DEVICE");
        foreach (var d in devices)
        {
            var subject = HeaderEncoding.Encode(d.Subject);
            subject = subject.Length > 40 ? subject[..39] + "…" : subject;
            var expires = d.NotAfter == default ? "-" : d.NotAfter.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            var days = d.NotAfter == default ? "-" : CertificateExpiry.DaysLeft(d.NotAfter, now).ToString(System.Globalization.CultureInfo.InvariantCulture);
            output.WriteLine($"{d.Sha256[..16]}  {subject,-40} {expires,-10} {days,5}  {LastSeen(d),-16} {Requests(d),-11} {Status(d)}{(d.Label is { } l ? "  " + HeaderEncoding.Encode(l) : "")}");
        }
    }

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}
