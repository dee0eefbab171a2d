using MtlsGate.Policy;

namespace MtlsGate.Configuration;

// The bound (mutable) shape of the "MtlsGate" section. Validation and compilation turn it into the
// immutable GatewaySnapshot; nothing at run time reads these classes.
//
// These classes ARE the schema: ConfigSchema derives the set of known keys from their public
// properties by reflection (a misspelt or unknown key under MtlsGate: is refused), so a new property
// is a new key with nothing else to edit. Each default is written once, here: an initializer or a
// Default* constant that the compile, `check` and the README test read. Collections stay empty by
// default (the binder appends to a pre-filled list) and carry their default in a Default* member.

/// <summary>The <c>MtlsGate</c> configuration section.</summary>
public sealed class MtlsGateOptions
{
    public const string SectionName = "MtlsGate";

    public ListenSection Listen { get; set; } = new();

    public ServerCertificateSection ServerCertificate { get; set; } = new();

    public Dictionary<string, TrustStoreSection> TrustStores { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, PolicySection> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public TlsSection Tls { get; set; } = new();

    public ForwardingSection Forwarding { get; set; } = new();

    public LimitsSection Limits { get; set; } = new();

    public ReloadSection Reload { get; set; } = new();

    public ExpirySection Expiry { get; set; } = new();

    public LoggingSection Logging { get; set; } = new();

    public Dictionary<string, HostSection> Hosts { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Proxies (CIDR) whose client-address header is believed. Default none.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>The client-address headers a trusted proxy may send (names only).</summary>
    public static readonly IReadOnlyList<string> ClientIpHeaders = ["X-Forwarded-For", "CF-Connecting-IP"];

    /// <summary>Header carrying the client address from a trusted proxy: <c>X-Forwarded-For</c> (default) or <c>CF-Connecting-IP</c>.</summary>
    public string ClientIpHeader { get; set; } = "X-Forwarded-For";

    /// <summary><c>LogOnly</c> turns every policy into log-only mode (global roll-out switch); <c>Enforce</c> leaves each policy's own. Default: each policy's own.</summary>
    public string? Mode { get; set; }

    public GeoIpSection GeoIp { get; set; } = new();

    /// <summary>
    /// The private state directory: the CRL cache (<c>crl-cache/</c>) and the CRL high-water marks
    /// (<c>crl-marks.json</c>). Default: <c>/var/lib/mtlsgate</c> when running as root or in the
    /// container (<c>DOTNET_RUNNING_IN_CONTAINER=true</c>), else <c>$XDG_STATE_HOME/mtlsgate</c>, else
    /// <c>~/.local/state/mtlsgate</c>; relative paths resolve against the configuration file's folder.
    /// Created 0700; start-up is refused when it is a symlink, owned by another user, or group/world-writable
    /// (another user could plant an old CRL or redirect a write).
    /// </summary>
    public string? StateDirectory { get; set; }

    public ManagementSection Management { get; set; } = new();

    /// <summary>Mutual TLS to the backend, per YARP cluster id (see <see cref="BackendSection"/>). Default none.</summary>
    public Dictionary<string, BackendSection> Backends { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The device inventory's store (see <see cref="StoreSection"/>).</summary>
    public StoreSection Store { get; set; } = new();

    /// <summary>The CA the gateway may use (see <see cref="EnrollmentSection"/>).</summary>
    public EnrollmentSection Enrollment { get; set; } = new();
}

/// <summary><c>MtlsGate:Store</c>: where the device inventory and the block list live.</summary>
public sealed class StoreSection
{
    /// <summary>
    /// Null (default): SQLite, <c>devices.db</c> in the state directory (WAL), for one gateway.
    /// A PostgreSQL connection string (<c>Host=…;Database=…;Username=…</c>, Npgsql's keywords) shares
    /// one inventory and one block list between replicas. Read at start-up (a change needs a restart).
    /// It may hold a password: it is never logged or shown.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>How often the block list is read from the store: a block or unblock takes effect within this delay on every replica. Default 2 s. Read at start-up.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the request observations collected in memory are written to the store. Default 1 s.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Most devices kept in memory between two writes (the bounded queue): a certificate not yet in it
    /// when it is full is not recorded (counted in <c>mtlsgate_inventory_dropped</c> and logged);
    /// decisions are never affected. Default 10000.
    /// </summary>
    public int MaxPendingDevices { get; set; } = DefaultMaxPendingDevices;

    public const int DefaultMaxPendingDevices = 10_000;
}

/// <summary><c>MtlsGate:Enrollment</c>: the CA folder the running gateway may sign with.</summary>
public sealed class EnrollmentSection
{
    /// <summary>
    /// The folder <c>mtlsgate init</c> made (<c>ca.pem</c>, <c>ca.key</c>, <c>ca.crl</c>, <c>issued.json</c>);
    /// relative paths resolve against the configuration file's folder. Default null: the gateway has no CA
    /// key, revoking a device only marks it in the store (denied all the same) and enrolment is off. When
    /// set, revoke also re-signs <c>ca.crl</c> there (list it in the trust store's <c>Crls</c> so it is reloaded).
    /// </summary>
    public string? CaFolder { get; set; }

    /// <summary>
    /// The gateway's address as phones reach it, used in enrolment links and their QR codes
    /// (e.g. <c>https://vault.example.com</c>). Default: <c>https://</c> + the server certificate's first
    /// DNS name (else <c>localhost</c>) + the gateway listener's port.
    /// </summary>
    public string? PublicUrl { get; set; }
}

/// <summary><c>MtlsGate:Management</c>: the plain-HTTP management listener (health, readiness, metrics).</summary>
public sealed class ManagementSection
{
    /// <summary>
    /// Host names (no scheme, port or wildcard) the management listener answers besides loopback names
    /// (<c>localhost</c>) and IP literals, e.g. the service name Prometheus scrapes by. Default empty.
    /// Any other <c>Host</c> gets 400: a web page whose name an attacker re-points to 127.0.0.1 (DNS
    /// rebinding) would otherwise read /metrics and /readyz from a browser on this machine. Listing a
    /// name makes that attack possible again for it, so list only names resolved by your own DNS.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>
    /// Who may use <c>/admin</c> when the management listener serves TLS (<c>Listen:Management</c> is an
    /// <c>https://</c> URL): an identity allow-list as in policies (any-of), checked against the
    /// <c>Default</c> trust store in the TLS handshake. Default none: an <c>https://</c> management
    /// listener without admins is refused at start-up, and a plain-HTTP listener bound to a non-loopback
    /// address never serves <c>/admin</c> (404).
    /// </summary>
    public IdentitiesSection? Admins { get; set; }
}

/// <summary><c>MtlsGate:Logging</c>. Levels per category stay in Serilog's own <c>Serilog:MinimumLevel</c>.</summary>
public sealed class LoggingSection
{
    /// <summary>The log formats (names only).</summary>
    public static readonly IReadOnlyList<string> Formats = ["Text", "Json"];

    /// <summary><c>Text</c> (default, human-readable console lines) or <c>Json</c> (compact JSON, one event per line, for Loki/Elastic).</summary>
    public string Format { get; set; } = "Text";
}

/// <summary><c>MtlsGate:Listen</c>.</summary>
public sealed class ListenSection
{
    public const string DefaultGateway = "https://0.0.0.0:8443";

    public const string DefaultManagement = "http://127.0.0.1:8081";

    /// <summary>
    /// The TLS listener: one URL or an array of URLs (the compiler reads the raw section for the
    /// array form). Default <c>https://0.0.0.0:8443</c>.
    /// </summary>
    [ConfigOneOrMany]
    public string? Gateway { get; set; }

    /// <summary>
    /// Management listener. Default <c>http://127.0.0.1:8081</c> (loopback only: it has no authentication).
    /// An <c>https://</c> URL serves it over TLS (the gateway's server certificate) and requires a client
    /// certificate listed in <c>Management:Admins</c> for every request.
    /// </summary>
    public string Management { get; set; } = DefaultManagement;

    /// <summary>Binding the management listener to a non-loopback address must be asked for explicitly. Default false.</summary>
    public bool AllowRemoteManagement { get; set; }
}

/// <summary><c>MtlsGate:ServerCertificate</c>: PEM (<c>Path</c> may hold the chain, <c>KeyPath</c>) or PKCS#12 (<c>Path</c> + <c>Password</c>).</summary>
public sealed class ServerCertificateSection
{
    public string? Path { get; set; }

    public string? KeyPath { get; set; }

    public string? Password { get; set; }
}

/// <summary><c>MtlsGate:TrustStores:NAME</c>.</summary>
public sealed class TrustStoreSection
{
    /// <summary>PEM file with the roots (and intermediates) client certificates must chain to. Required.</summary>
    public string? CaBundle { get; set; }

    /// <summary>CRL files (PEM or DER), each signed by a CA of the bundle; verified, and reloaded on change.</summary>
    public List<string> Crls { get; set; } = [];

    /// <summary>CRL URLs fetched in the background (never in the request path) and cached on disk.</summary>
    public List<string> CrlUrls { get; set; } = [];

    /// <summary>How long past nextUpdate a CRL is still used. Default zero: a stale CRL fails closed for its issuer's certificates.</summary>
    public TimeSpan StaleCrlGrace { get; set; } = TimeSpan.Zero;

    /// <summary>SHA-256 fingerprints (hex, colons allowed) of certificates to refuse.</summary>
    public List<string> DenyFingerprints { get; set; } = [];

    /// <summary>Issuer DN + serial pairs to refuse.</summary>
    public List<DenySerialSection> DenySerials { get; set; } = [];
}

/// <summary>One issuer + serial deny-list entry.</summary>
public sealed class DenySerialSection
{
    /// <summary>Issuer distinguished name, e.g. <c>CN=Home CA</c>.</summary>
    public string? Issuer { get; set; }

    /// <summary>Serial number in hex (colons allowed).</summary>
    public string? Serial { get; set; }
}

/// <summary><c>MtlsGate:Reload</c>.</summary>
public sealed class ReloadSection
{
    /// <summary>How often files (certificates, bundles, CRLs, configuration) are checked for changes. Default 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often CRL URLs are fetched. Default 1 h.</summary>
    public TimeSpan CrlRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Where fetched CRLs are cached. Default <c>crl-cache</c> in <see cref="MtlsGateOptions.StateDirectory"/>.
    /// When set, it must pass the same checks as the state directory (created 0700, ours, not
    /// group/world-writable, not a symlink): a cache others can write lets them plant an old CRL.
    /// </summary>
    public string? CrlCacheDirectory { get; set; }
}

/// <summary><c>MtlsGate:Expiry</c>.</summary>
public sealed class ExpirySection
{
    /// <summary>Used when <see cref="WarnDays"/> is empty.</summary>
    public static readonly IReadOnlyList<int> DefaultWarnDays = [30, 7, 1];

    /// <summary>Warn when a certificate has at most this many days left. Default [30, 7, 1].</summary>
    public List<int> WarnDays { get; set; } = [];

    /// <summary>Send <c>X-Client-Cert-Days-Left</c> to the backend. Default false.</summary>
    public bool SendDaysLeftHeader { get; set; }
}

/// <summary><c>MtlsGate:Policies:NAME</c>.</summary>
public sealed class PolicySection
{
    public const string DefaultTrustStore = GatewaySnapshot.DefaultName;

    public const Requirement DefaultRequire = Requirement.Certificate;

    public const EnforcementMode DefaultMode = EnforcementMode.Enforce;

    /// <summary>Trust store name. Default <c>Default</c>. On a connection made for a configured host with its own <c>TrustStore</c>, the host's store is used instead.</summary>
    public string? TrustStore { get; set; }

    /// <summary><c>Certificate</c> (default) or <c>None</c> (names only; a number is refused).</summary>
    public string? Require { get; set; }

    /// <summary><c>Enforce</c> (default) or <c>LogOnly</c>: log "would deny" and forward.</summary>
    public string? Mode { get; set; }

    /// <summary>The denial response. Default 404 <c>Not Found</c>, <c>text/plain</c>.</summary>
    public DenySection? Deny { get; set; }

    /// <summary>A denial response per reason; the keys are <see cref="DenyReason"/> names.</summary>
    [ConfigKeysFrom(typeof(DenyReason), Except = [nameof(DenyReason.None)])]
    public Dictionary<string, DenySection> DenyByReason { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Any-of allow-list. Omitted: any valid certificate. Present with every list empty: nobody.</summary>
    public IdentitiesSection? Identities { get; set; }

    /// <summary>Certificates matching an entry may only use its <c>Methods</c> (read-only clients).</summary>
    public List<MethodRestrictionSection> MethodRestrictions { get; set; } = [];

    /// <summary>Client networks (CIDR) that need no certificate: LAN exemption.</summary>
    public List<string> BypassNetworks { get; set; } = [];

    public List<string> AllowNetworks { get; set; } = [];

    public List<string> DenyNetworks { get; set; } = [];

    /// <summary>ISO 3166 country codes; needs <c>MtlsGate:GeoIp:Database</c>.</summary>
    public List<string> AllowCountries { get; set; } = [];

    public List<string> DenyCountries { get; set; } = [];
}

/// <summary>Identity allow-list fields (any-of).</summary>
public class IdentitiesSection
{
    public List<string> SubjectCommonNames { get; set; } = [];
    public List<string> Organizations { get; set; } = [];
    public List<string> OrganizationalUnits { get; set; } = [];
    public List<string> DnsNames { get; set; } = [];
    public List<string> Emails { get; set; } = [];
    public List<string> Uris { get; set; } = [];
    public List<string> UriPrefixes { get; set; } = [];
    public List<string> Issuers { get; set; } = [];

    /// <summary>SHA-256 of the certificate, hex (colons allowed).</summary>
    public List<string> Fingerprints { get; set; } = [];

    /// <summary>SHA-256 of the SubjectPublicKeyInfo, base64 or hex: survives renewal with the same key.</summary>
    public List<string> SpkiPins { get; set; } = [];
}

/// <summary>
/// A <c>MethodRestrictions</c> entry: the identities it covers (fields as in <c>Identities</c>) and the
/// methods they may use. <c>Methods</c> exists only here, so the strict compile refuses it inside
/// <c>Identities</c>, where it would otherwise be silently ignored.
/// </summary>
public sealed class MethodRestrictionSection : IdentitiesSection
{
    /// <summary>The methods allowed (required, e.g. <c>["GET", "HEAD"]</c>).</summary>
    public List<string> Methods { get; set; } = [];
}

/// <summary><c>MtlsGate:Hosts:NAME</c>: per SNI name.</summary>
public sealed class HostSection
{
    public ServerCertificateSection? ServerCertificate { get; set; }

    /// <summary>
    /// Trust store every request on a connection made for this host is judged against, whatever the
    /// route's policy. Default: the default policy's (and then each policy's own).
    /// </summary>
    public string? TrustStore { get; set; }

    /// <summary>Policy for routes of this host without their own. Default <c>Default</c>.</summary>
    public string? Policy { get; set; }
}

/// <summary><c>MtlsGate:GeoIp</c>.</summary>
public sealed class GeoIpSection
{
    /// <summary>A MaxMind-format country database (.mmdb) the operator supplies; never downloaded.</summary>
    public string? Database { get; set; }
}

/// <summary>A denial: a response (status/body/headers) or <c>Action: Close</c>.</summary>
public sealed class DenySection
{
    public const DenialAction DefaultAction = DenialAction.Respond;

    public const int DefaultStatus = DenySettings.DefaultStatus;

    /// <summary><c>Respond</c> (default) or <c>Close</c> (zero bytes, connection closed).</summary>
    public string? Action { get; set; }

    /// <summary>Default 404. 401, 403 and 407 are refused unless <see cref="AllowClientWipingStatus"/>.</summary>
    public int? Status { get; set; }

    /// <summary>Default <c>Not Found</c>.</summary>
    public string? Body { get; set; }

    /// <summary>Default <c>text/plain</c>.</summary>
    public string? ContentType { get; set; }

    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Allows 401/403/407, which make Bitwarden clients delete their offline vault. Default false.</summary>
    public bool AllowClientWipingStatus { get; set; }
}

/// <summary><c>MtlsGate:Tls</c>.</summary>
public sealed class TlsSection
{
    /// <summary>Refuse a missing or invalid client certificate with a TLS alert instead of a shaped HTTP denial. Default false.</summary>
    public bool RejectAtHandshake { get; set; }

    /// <summary>Time allowed for a TLS handshake. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary><c>MtlsGate:Forwarding</c>.</summary>
public sealed class ForwardingSection
{
    public const IdentityHeaderFormat DefaultIdentityHeaders = IdentityHeaderFormat.Individual;

    /// <summary><c>Individual</c> (default), <c>Rfc9440</c>, <c>Xfcc</c> or <c>None</c>.</summary>
    public string? IdentityHeaders { get; set; }

    /// <summary>Send the client's Host to the backend (Vaultwarden needs it). Default true.</summary>
    public bool PreserveHost { get; set; } = true;
}

/// <summary><c>MtlsGate:Limits</c>: Kestrel limits that matter for a proxy.</summary>
public sealed class LimitsSection
{
    public const long DefaultMaxRequestBodySize = 1L << 30;

    /// <summary>Largest request body in bytes (streamed, never buffered). Default 1 GiB (Vaultwarden needs 525 MB).</summary>
    public long MaxRequestBodySize { get; set; } = DefaultMaxRequestBodySize;

    /// <summary>Slow-header clients are dropped after this. Default 30 s.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Default 130 s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>Default unlimited (null).</summary>
    public long? MaxConcurrentConnections { get; set; }

    /// <summary>HTTP/2 streams per connection. Default 100.</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;

    /// <summary>On SIGTERM, how long in-flight requests may finish after the listeners stop accepting. Default 30 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A connection older than this is answered with the policy's denial (reason
    /// <c>ConnectionLifetimeExceeded</c>) at its next request and then closed, so the client makes a new
    /// handshake (judged against the trust material of that moment). Default null: no limit (verdicts
    /// still expire with the certificate or CRL). Applied without a restart.
    /// </summary>
    public TimeSpan? MaxConnectionLifetime { get; set; }

    /// <summary>
    /// Largest CRL download (<c>CrlUrls</c>) in bytes; a larger body is aborted while streaming and
    /// never cached. Default 16777216 (16 MiB). Applied without a restart.
    /// </summary>
    public long MaxCrlBytes { get; set; } = DefaultMaxCrlBytes;

    public const long DefaultMaxCrlBytes = 16L * 1024 * 1024;
}
