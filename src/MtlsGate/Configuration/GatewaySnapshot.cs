using System.Collections.Frozen;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>One entry of <c>MtlsGate:Hosts</c>: what a connection for that SNI name uses.</summary>
public sealed record CompiledHost(string Name, ServerCertificate? ServerCertificate, TrustStore? TrustStore, CompiledPolicy? Policy);

/// <summary>Country of an address from a MaxMind-format database (opened once per snapshot, memory-mapped).</summary>
public sealed class CountryLookup : IDisposable
{
    private readonly MaxMind.GeoIP2.DatabaseReader _reader;

    public CountryLookup(string path)
    {
        Path = path;
        _reader = new MaxMind.GeoIP2.DatabaseReader(path, MaxMind.Db.FileAccessMode.MemoryMapped);
    }

    public string Path { get; }

    public void Dispose() => _reader.Dispose();

    /// <summary>ISO code, or null when the address is not in the database.</summary>
    public string? CountryOf(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        try
        {
            var normalized = MtlsGate.Policy.Networks.Normalize(address);
            return _reader.TryCountry(normalized, out var response) ? response?.Country.IsoCode ?? response?.RegisteredCountry.IsoCode : null;
        }
        catch (Exception ex) when (ex is MaxMind.Db.InvalidDatabaseException or ArgumentException or InvalidOperationException)
        {
            // Not answerable (e.g. an IPv6 address in an IPv4-only database): unknown, which country rules refuse.
            return null;
        }
    }
}

/// <summary>An address to listen on, parsed from a URL of <c>MtlsGate:Listen</c>.</summary>
/// <param name="Url">The URL as configured.</param>
/// <param name="Address">The IP to bind, or null for <c>localhost</c> (both loopbacks).</param>
/// <param name="Port">The port; 0 picks a free one.</param>
public sealed record ListenEndpoint(string Url, IPAddress? Address, int Port)
{
    /// <summary>An <c>https://</c> URL: the listener serves TLS.</summary>
    public bool IsTls => Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Bound to loopback only (<c>localhost</c> or a loopback address).</summary>
    public bool IsLoopback => Address is null || IPAddress.IsLoopback(Address);
}

/// <summary>The server certificate, ready for SslStream (leaf + intermediates sent in the handshake).</summary>
public sealed record ServerCertificate(X509Certificate2 Leaf, SslStreamCertificateContext Context, string Source);

public enum IdentityHeaderFormat
{
    /// <summary>X-Client-Cert-Verify/-Subject/-Issuer/-Sha256/-Serial/-Not-After.</summary>
    Individual,
    /// <summary>RFC 9440 Client-Cert and Client-Cert-Chain.</summary>
    Rfc9440,
    /// <summary>Envoy's X-Forwarded-Client-Cert.</summary>
    Xfcc,
    None,
}

public sealed record ForwardingSettings(IdentityHeaderFormat IdentityHeaders, bool PreserveHost);

public sealed record ReloadSettings(TimeSpan PollInterval, TimeSpan CrlRefreshInterval, string CrlCacheDirectory);

public sealed record ExpirySettings(IReadOnlyList<int> WarnDays, bool SendDaysLeftHeader);

/// <summary>A CRL URL of a trust store, fetched in the background.</summary>
public sealed record CrlUrl(string TrustStore, Uri Url);

public sealed record LimitsSettings(
    long MaxRequestBodySize,
    TimeSpan HandshakeTimeout,
    TimeSpan RequestHeadersTimeout,
    TimeSpan KeepAliveTimeout,
    long? MaxConcurrentConnections,
    int MaxStreamsPerConnection,
    TimeSpan DrainTimeout);

/// <summary>
/// Limits read per request or per CRL download (not by Kestrel at start-up), so a reload applies them at once.
/// </summary>
/// <param name="MaxConnectionLifetime">A connection older than this is denied at its next request and closed; null: no limit.</param>
/// <param name="MaxCrlBytes">Largest CRL download accepted.</param>
public sealed record LiveLimits(TimeSpan? MaxConnectionLifetime, long MaxCrlBytes)
{
    public static readonly LiveLimits Default = new(null, LimitsSection.DefaultMaxCrlBytes);
}

/// <summary>
/// Everything the gateway decides with, compiled from configuration and immutable. Reloads build a
/// new one and swap it whole; a failed build leaves the last good one in place.
/// </summary>
public sealed record GatewaySnapshot(
    IReadOnlyList<ListenEndpoint> GatewayEndpoints,
    ListenEndpoint Management,
    ServerCertificate? ServerCertificate,
    FrozenDictionary<string, TrustStore> TrustStores,
    FrozenDictionary<string, CompiledPolicy> Policies,
    CompiledPolicy DefaultPolicy,
    TrustStore? ConnectionTrustStore,
    bool RejectAtHandshake,
    ForwardingSettings Forwarding,
    LimitsSettings Limits,
    string BaseDirectory)
{
    public const string DefaultName = "Default";

    public ReloadSettings Reload { get; init; } = new(TimeSpan.FromSeconds(2), TimeSpan.FromHours(1), Path.GetTempPath());

    public ExpirySettings Expiry { get; init; } = new([30, 7, 1], false);

    /// <summary>The private state directory (CRL cache, CRL high-water marks); see <c>MtlsGate:StateDirectory</c>.</summary>
    public string StateDirectory { get; init; } = "";

    /// <summary>Limits applied without a restart: connection lifetime, CRL download size.</summary>
    public LiveLimits LiveLimits { get; init; } = LiveLimits.Default;

    public IReadOnlyList<CrlUrl> CrlUrls { get; init; } = [];

    /// <summary>Per SNI name; connections without SNI or with an unlisted name use the top-level settings.</summary>
    public FrozenDictionary<string, CompiledHost> Hosts { get; init; } = FrozenDictionary<string, CompiledHost>.Empty;

    public IReadOnlyList<IPNetwork> TrustedProxies { get; init; } = [];

    public string ClientIpHeader { get; init; } = "X-Forwarded-For";

    public CountryLookup? GeoIp { get; init; }

    /// <summary><c>MtlsGate:Management:AllowedHosts</c>, lower-case without trailing dot: names answered besides loopback and IP literals.</summary>
    public FrozenSet<string> ManagementAllowedHosts { get; init; } = FrozenSet<string>.Empty;

    /// <summary><c>MtlsGate:Management:Admins</c> and the trust store their certificates chain to; set only when the management listener serves TLS.</summary>
    public ManagementAdmins? ManagementAdmins { get; init; }

    /// <summary>The host entry for an SNI name, or null (top-level settings).</summary>
    public CompiledHost? HostFor(string? serverName) =>
        serverName is { Length: > 0 } && Hosts.Count != 0 && Hosts.TryGetValue(serverName.TrimEnd('.'), out var host) ? host : null;

    /// <summary>Files the snapshot was compiled from; a change to any of them triggers a reload.</summary>
    public IReadOnlyList<string> InputFiles { get; init; } = [];

    /// <summary>YARP's routes and clusters of this configuration, handed to YARP only when this snapshot is swapped in.</summary>
    public ProxySnapshot Proxy { get; init; } = ProxySnapshot.Empty;

    /// <summary><c>MtlsGate:Backends</c>: mutual TLS per YARP cluster id (case-insensitive); a cluster not listed uses YARP's default client.</summary>
    public FrozenDictionary<string, BackendTls> Backends { get; init; } = FrozenDictionary<string, BackendTls>.Empty;

    /// <summary><c>MtlsGate:Login</c>, or null when login is not configured.</summary>
    public LoginSettings? Login { get; init; }

    /// <summary><c>MtlsGate:Edges</c>: where forwarded client certificates may come from; empty: nowhere (they are stripped).</summary>
    public EdgeSet Edges { get; init; } = EdgeSet.Empty;

    /// <summary>
    /// The policy a route names in its <c>MtlsGate.Policy</c> metadata; absent: the default. An unknown
    /// name (the compile refuses it, but routes and snapshot could disagree for a moment) denies
    /// everything: never a fallback to a policy nobody named.
    /// </summary>
    public CompiledPolicy PolicyFor(string? name) =>
        name is null ? DefaultPolicy
        : Policies.TryGetValue(name, out var policy) ? policy
        : UnknownPolicy;

    /// <summary>Each policy's validated denials, by policy name; <c>Denials/</c> encodes them once per snapshot.</summary>
    public FrozenDictionary<string, PolicyDenials> Denials { get; init; } = FrozenDictionary<string, PolicyDenials>.Empty;

    /// <summary>
    /// The denials of <paramref name="policy"/>; for a policy without its own (the deny-everything
    /// <see cref="UnknownPolicy"/>), the default policy's: byte-identical to an unknown route.
    /// </summary>
    public PolicyDenials DenialsFor(CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return Denials.TryGetValue(policy.Name, out var own) ? own
            : Denials.TryGetValue(DefaultPolicy.Name, out var fallback) ? fallback
            : PolicyDenials.Default;
    }

    /// <summary>Denies everything with the default policy's denial (byte-identical to an unknown route).
    /// Built on use (only an inconsistent route pays), never cached: a <c>with</c> copy of the snapshot must not keep a stale one.</summary>
    public CompiledPolicy UnknownPolicy => DefaultPolicy with
    {
        Name = UnknownPolicyName,
        Mode = EnforcementMode.Enforce,
        DeniesEverything = true,
    };

    /// <summary>The name logged for a route whose policy does not exist.</summary>
    public const string UnknownPolicyName = "(unknown policy)";

    /// <summary><c>MtlsGate:Store</c>: the device inventory's database (read at start-up) and its intervals.</summary>
    public StoreSettings Store { get; init; } = new(StoreKind.Sqlite, "", "", TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), StoreSection.DefaultMaxPendingDevices);

    /// <summary><c>MtlsGate:Enrollment</c>: the CA folder the gateway may sign with, or none.</summary>
    public EnrollmentSettings Enrollment { get; init; } = EnrollmentSettings.None;
}
