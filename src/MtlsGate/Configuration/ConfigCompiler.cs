using System.Collections.Frozen;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>What a compilation needs: everything, or only trust material and policies (CLI <c>verify</c>).</summary>
public enum CompileScope
{
    Server,
    TrustAndPolicies,
}

/// <summary>
/// Bind, validate, compile — the orchestrator, shaped like YARP's <c>ConfigValidator</c>
/// (microsoft/reverse-proxy, src/ReverseProxy/Configuration/ConfigValidator.cs): the schema check
/// refuses unknown keys, wrong shapes and malformed values; then one small compiler per section, all
/// reporting into one <see cref="ConfigErrors"/>. Every error is collected with its key (and file);
/// only when there is none is the immutable <see cref="GatewaySnapshot"/> returned.
/// </summary>
public static class ConfigCompiler
{
    public const string DefaultGatewayUrl = ListenSection.DefaultGateway;
    public const string DefaultManagementUrl = ListenSection.DefaultManagement;
    public const string PolicyMetadataKey = "MtlsGate.Policy";
    public const long DefaultMaxRequestBodySize = LimitsSection.DefaultMaxRequestBodySize;

    public static (GatewaySnapshot? Snapshot, IReadOnlyList<string> Errors) Compile(
        IConfiguration configuration, string baseDirectory, CompileScope scope = CompileScope.Server)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var sink = new List<string>();
        var errors = new ConfigErrors(sink);
        var section = ConfigSchema.Check(configuration.GetSection(MtlsGateOptions.SectionName), errors, configuration as IConfigurationRoot);
        var options = Bind(section, errors);
        var server = scope == CompileScope.Server;

        var (gatewayEndpoints, management) = server ? ListenCompiler.Compile(options.Listen, section.GetSection("Listen"), errors) : ([], null);
        SettingsCompiler.Logging(options.Logging, errors);
        var serverCertificate = server ? ServerCertificateCompiler.Compile(options.ServerCertificate, baseDirectory, "MtlsGate:ServerCertificate", errors) : null;
        var stateDirectory = StateDirectoryCompiler.Compile(options, baseDirectory, sink);
        var reload = SettingsCompiler.Reload(options.Reload, errors) with { CrlCacheDirectory = StateDirectoryCompiler.CrlCache(options.Reload, baseDirectory, stateDirectory, sink) };
        var trustStores = TrustStoreCompiler.Compile(options.TrustStores, baseDirectory, reload.CrlCacheDirectory, errors);
        StateDirectoryCompiler.CheckCrls(trustStores.Values, stateDirectory, sink);
        var expiry = SettingsCompiler.Expiry(options.Expiry, errors);
        var globalLogOnly = PolicyCompiler.GlobalLogOnly(options.Mode, errors);
        var (policies, denials) = PolicyCompiler.Compile(options.Policies, section.GetSection("Policies"), trustStores, globalLogOnly, errors);
        var policyNames = options.Policies.Keys.Append(GatewaySnapshot.DefaultName).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        var trustedProxies = IdentityCompiler.Networks(options.TrustedProxies, "MtlsGate:TrustedProxies", errors);
        var clientIpHeader = SettingsCompiler.ClientIpHeader(options.ClientIpHeader, errors);
        var geoIp = SettingsCompiler.GeoIp(options.GeoIp, baseDirectory, options.Policies.Values.Any(p => p.AllowCountries.Count + p.DenyCountries.Count != 0), errors);
        var hosts = HostCompiler.Compile(options.Hosts, baseDirectory, trustStores, policies, policyNames, server, errors);
        RouteCompiler.Validate(configuration.GetSection("ReverseProxy"), policies, policyNames, hosts, errors);
        var proxy = ProxyConfigCompiler.Compile(configuration, sink);
        var backends = server ? BackendCompiler.Compile(options.Backends, proxy, baseDirectory, errors) : FrozenDictionary<string, BackendTls>.Empty;
        var edges = EdgesCompiler.Compile(options.Edges, baseDirectory, errors);
        var managementAllowedHosts = ManagementCompiler.Compile(section.GetSection("Management"), options.Management, sink);
        var managementAdmins = ManagementCompiler.Admins(options.Management, management, trustStores, errors);
        var forwarding = SettingsCompiler.Forwarding(options.Forwarding, errors);
        var limits = LimitsCompiler.Compile(options.Limits, options.Tls, errors);
        var liveLimits = LiveLimitsCompiler.Compile(options.Limits, sink);
        var login = LoginCompiler.Compile(section.GetSection("Login"), options.Login, policies, baseDirectory, stateDirectory, errors, readSecrets: server);
        var store = StoreCompiler.Compile(options.Store, stateDirectory, errors);
        var enrollment = EnrollmentCompiler.Compile(options.Enrollment, baseDirectory, errors);

        policies.TryGetValue(GatewaySnapshot.DefaultName, out var defaultPolicy);
        trustStores.TryGetValue(defaultPolicy?.TrustStore ?? GatewaySnapshot.DefaultName, out var connectionStore);
        if (connectionStore is null && defaultPolicy is { } && PolicyResolution.UsesTrustStore(defaultPolicy) && !errors.All.Any(e => e.Contains("TrustStore", StringComparison.Ordinal)))
        {
            errors.Add($"MtlsGate:TrustStores:{GatewaySnapshot.DefaultName}:CaBundle", "required (the default policy requires a client certificate and needs a trust store to check it against).");
        }

        if (errors.Count != 0 || defaultPolicy is null || (server && !StateDirectoryCompiler.Commit(stateDirectory, reload.CrlCacheDirectory, trustStores.Values, sink)))
        {
            return (null, errors.All);
        }

        var snapshot = new GatewaySnapshot(
            gatewayEndpoints,
            management ?? new ListenEndpoint(ListenSection.DefaultManagement, IPAddress.Loopback, 8081),
            serverCertificate,
            trustStores.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            policies.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            defaultPolicy,
            connectionStore,
            options.Tls.RejectAtHandshake,
            forwarding,
            limits,
            baseDirectory)
        {
            Reload = reload,
            Expiry = expiry,
            StateDirectory = stateDirectory,
            LiveLimits = liveLimits,
            Hosts = hosts.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            TrustedProxies = trustedProxies,
            ClientIpHeader = clientIpHeader,
            GeoIp = geoIp,
            ManagementAllowedHosts = managementAllowedHosts,
            ManagementAdmins = managementAdmins,
            CrlUrls = options.TrustStores.SelectMany(t => t.Value.CrlUrls.Select(u => (t.Key, u))).Where(p => Uri.TryCreate(p.u, UriKind.Absolute, out _)).Select(p => new CrlUrl(p.Key, new Uri(p.u))).ToList(),
            InputFiles = ConfigInputs.Files(options, baseDirectory, reload.CrlCacheDirectory),
            Proxy = proxy,
            Denials = denials.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            Backends = backends,
            Login = login,
            Store = store,
            Enrollment = enrollment,
            Edges = edges,
        };
        return (snapshot, errors.All);
    }

    /// <summary>Binds the checked section (refused nodes already removed, so the binder meets only well-formed values).</summary>
    private static MtlsGateOptions Bind(IConfigurationSection section, ConfigErrors errors)
    {
        var options = new MtlsGateOptions();
        try
        {
            section.Bind(options, o => o.ErrorOnUnknownConfiguration = false);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's message names the key ("Failed to convert configuration value at 'KEY' …").
            errors.Add(MtlsGateOptions.SectionName, ex.Message);
        }

        return options;
    }

    /// <summary>Relative paths are resolved against the directory of the main configuration file.</summary>
    public static string ResolvePath(string baseDirectory, string path) =>
        Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(baseDirectory, path));

    /// <summary>The cache file of a CRL URL.</summary>
    public static string CrlCachePath(string cacheDirectory, Uri url) => TrustStoreCompiler.CrlCachePath(cacheDirectory, url);

    /// <summary>Loads and verifies a CRL file: parsable, signed by a CA of the bundle with a matching issuer name.</summary>
    internal static CrlSource? LoadCrl(string path, string key, IReadOnlyList<X509Certificate2> authorities, List<string> errors) =>
        TrustStoreCompiler.LoadCrl(path, key, authorities, new ConfigErrors(errors));

    /// <summary>Loads a PEM CA bundle, split into roots (self-signed) and intermediates; every certificate must be a CA.</summary>
    internal static (List<X509Certificate2> Roots, List<X509Certificate2> Intermediates)? LoadCaBundle(string path, string key, List<string> errors) =>
        TrustStoreCompiler.LoadCaBundle(path, key, new ConfigErrors(errors));

    internal static DenySettings? CompileDeny(DenySection section, string key, List<string> errors) =>
        DenyCompiler.Compile(section, key, new ConfigErrors(errors));
}
