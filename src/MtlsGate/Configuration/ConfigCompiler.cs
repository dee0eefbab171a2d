using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Configuration;
using MtlsGate.Denials;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>What a compilation needs: everything, or only trust material and policies (CLI <c>verify</c>).</summary>
public enum CompileScope
{
    Server,
    TrustAndPolicies,
}

/// <summary>
/// Bind, validate, compile: reads the configuration, collects <em>every</em> error with its key (and
/// file), and only when there is none returns the immutable <see cref="GatewaySnapshot"/>.
/// </summary>
public static class ConfigCompiler
{
    public const string DefaultGatewayUrl = "https://0.0.0.0:8443";
    public const string DefaultManagementUrl = "http://127.0.0.1:8081";
    public const string PolicyMetadataKey = "MtlsGate.Policy";
    public const long DefaultMaxRequestBodySize = 1L << 30;

    private static readonly FrozenSet<int> ClientWipingStatuses = new[] { 401, 403, 407 }.ToFrozenSet();

    private static readonly FrozenSet<string> ForbiddenDenyHeaders = new[]
    {
        "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer", "Server", "Content-Type",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static (GatewaySnapshot? Snapshot, IReadOnlyList<string> Errors) Compile(
        IConfiguration configuration, string baseDirectory, CompileScope scope = CompileScope.Server)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<string>();
        var section = configuration.GetSection(MtlsGateOptions.SectionName);
        var options = new MtlsGateOptions();
        try
        {
            section.Bind(options, o => o.ErrorOnUnknownConfiguration = false);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add($"{MtlsGateOptions.SectionName}: {ex.Message}");
        }

        var gatewayEndpoints = scope == CompileScope.Server ? CompileGatewayUrls(section.GetSection("Listen:Gateway"), errors) : [];
        var management = scope == CompileScope.Server
            ? CompileUrl(options.Listen.Management ?? DefaultManagementUrl, "MtlsGate:Listen:Management", "http", errors)
            : null;
        if (management is { Address: { } managementAddress } && !IPAddress.IsLoopback(managementAddress) && !options.Listen.AllowRemoteManagement)
        {
            errors.Add($"MtlsGate:Listen:Management: '{management.Url}' is not a loopback address; the management listener (health, metrics) has no authentication, so exposing it must be explicit: set MtlsGate:Listen:AllowRemoteManagement: true.");
        }

        if (options.Logging.Format is { } format && !format.Equals("Text", StringComparison.OrdinalIgnoreCase) && !format.Equals("Json", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"MtlsGate:Logging:Format: '{format}' is not one of Text, Json.");
        }

        var serverCertificate = scope == CompileScope.Server ? CompileServerCertificate(options.ServerCertificate, baseDirectory, errors) : null;
        var reload = CompileReload(options.Reload, baseDirectory, errors);
        var trustStores = CompileTrustStores(options.TrustStores, baseDirectory, reload.CrlCacheDirectory, errors);
        var expiry = CompileExpiry(options.Expiry, errors);
        var globalLogOnly = false;
        if (options.Mode is { } globalMode)
        {
            if (!Enum.TryParse<EnforcementMode>(globalMode, ignoreCase: true, out var parsedMode) || !Enum.IsDefined(parsedMode))
            {
                errors.Add($"MtlsGate:Mode: '{globalMode}' is not one of Enforce, LogOnly.");
            }

            globalLogOnly = parsedMode == EnforcementMode.LogOnly;
        }

        var policies = CompilePolicies(options.Policies, section.GetSection("Policies"), trustStores, globalLogOnly, errors);
        var trustedProxies = CompileNetworks(options.TrustedProxies, "MtlsGate:TrustedProxies", errors);
        var clientIpHeader = options.ClientIpHeader ?? "X-Forwarded-For";
        if (!clientIpHeader.Equals("X-Forwarded-For", StringComparison.OrdinalIgnoreCase) && !clientIpHeader.Equals("CF-Connecting-IP", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"MtlsGate:ClientIpHeader: '{clientIpHeader}' is not one of X-Forwarded-For, CF-Connecting-IP.");
        }

        var geoIp = CompileGeoIp(options.GeoIp, baseDirectory, policies.Values.Any(p => p.HasCountryRules), errors);
        ValidateRoutes(configuration.GetSection("ReverseProxy"), policies, errors);
        var managementAllowedHosts = ManagementCompiler.Compile(section.GetSection("Management"), options.Management, errors);

        var hosts = CompileHosts(options.Hosts, baseDirectory, trustStores, policies, scope == CompileScope.Server, errors);
        var forwarding = CompileForwarding(options.Forwarding, errors);
        var limits = CompileLimits(options.Limits, options.Tls, errors);

        policies.TryGetValue(GatewaySnapshot.DefaultName, out var defaultPolicy);
        trustStores.TryGetValue(defaultPolicy?.TrustStore ?? GatewaySnapshot.DefaultName, out var connectionStore);
        if (connectionStore is null && defaultPolicy is { Require: Requirement.Certificate } && !errors.Any(e => e.Contains("TrustStore", StringComparison.Ordinal)))
        {
            errors.Add($"MtlsGate:TrustStores:{GatewaySnapshot.DefaultName}:CaBundle: required (the default policy requires a client certificate and needs a trust store to check it against).");
        }

        if (errors.Count != 0 || defaultPolicy is null)
        {
            return (null, errors);
        }

        var snapshot = new GatewaySnapshot(
            gatewayEndpoints,
            management ?? new ListenEndpoint(DefaultManagementUrl, IPAddress.Loopback, 8081),
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
            Hosts = hosts.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            TrustedProxies = trustedProxies,
            ClientIpHeader = clientIpHeader,
            GeoIp = geoIp,
            ManagementAllowedHosts = managementAllowedHosts,
            CrlUrls = options.TrustStores.SelectMany(t => t.Value.CrlUrls.Select(u => (t.Key, u))).Where(p => Uri.TryCreate(p.u, UriKind.Absolute, out _)).Select(p => new CrlUrl(p.Key, new Uri(p.u))).ToList(),
            InputFiles = InputFiles(options, baseDirectory, reload.CrlCacheDirectory),
        };
        return (snapshot, errors);
    }

    /// <summary>Relative paths are resolved against the directory of the main configuration file.</summary>
    public static string ResolvePath(string baseDirectory, string path) =>
        Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(baseDirectory, path));

    private static List<ListenEndpoint> CompileGatewayUrls(IConfigurationSection section, List<string> errors)
    {
        var urls = new List<(string Key, string Url)>();
        if (section.Value is { } single)
        {
            urls.Add((section.Path, single));
        }
        else
        {
            foreach (var child in section.GetChildren())
            {
                urls.Add((child.Path, child.Value ?? ""));
            }
        }

        if (urls.Count == 0)
        {
            urls.Add((section.Path, DefaultGatewayUrl));
        }

        var endpoints = new List<ListenEndpoint>();
        foreach (var (key, url) in urls)
        {
            if (CompileUrl(url, key, "https", errors) is { } endpoint)
            {
                endpoints.Add(endpoint);
            }
        }

        return endpoints;
    }

    private static ListenEndpoint? CompileUrl(string url, string key, string scheme, List<string> errors)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            || uri.Scheme != scheme || uri.AbsolutePath != "/" || uri.Query.Length != 0)
        {
            errors.Add($"{key}: '{url}' is not a valid listen URL; expected {scheme}://ADDRESS:PORT (e.g. {(scheme == "https" ? DefaultGatewayUrl : DefaultManagementUrl)}).");
            return null;
        }

        if (uri.IsDefaultPort && !url.Contains($":{uri.Port}", StringComparison.Ordinal))
        {
            errors.Add($"{key}: '{url}' has no port; give one explicitly (0 picks a free port).");
            return null;
        }

        IPAddress? address;
        if (uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns)
        {
            address = null; // "localhost": both loopback families
        }
        else if (!IPAddress.TryParse(uri.Host.Trim('[', ']'), out address))
        {
            errors.Add($"{key}: '{url}' must name an IP address or localhost (a host name would need a DNS lookup at start-up).");
            return null;
        }

        return new ListenEndpoint(url, address, uri.Port);
    }

    private static ServerCertificate? CompileServerCertificate(ServerCertificateSection options, string baseDirectory, List<string> errors, string key = "MtlsGate:ServerCertificate")
    {
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            errors.Add($"{key}:Path: required (a PEM certificate with its KeyPath, or a PKCS#12 .pfx/.p12 with Password).");
            return null;
        }

        var path = ResolvePath(baseDirectory, options.Path);
        if (!FileExists(path, $"{key}:Path", errors))
        {
            return null;
        }

        try
        {
            X509Certificate2 leaf;
            var intermediates = new X509Certificate2Collection();
            var extension = Path.GetExtension(path).ToLowerInvariant();
            if (extension is ".pfx" or ".p12")
            {
                var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, options.Password, X509KeyStorageFlags.EphemeralKeySet);
                var withKey = all.Where(c => c.HasPrivateKey).ToList();
                if (withKey.Count != 1)
                {
                    errors.Add($"{key}:Path: '{path}' must hold exactly one certificate with a private key (found {withKey.Count}).");
                    return null;
                }

                leaf = withKey[0];
                intermediates.AddRange(all.Where(c => !c.HasPrivateKey && !IsSelfSigned(c)).ToArray());
            }
            else
            {
                var keyPath = string.IsNullOrWhiteSpace(options.KeyPath) ? null : ResolvePath(baseDirectory, options.KeyPath);
                if (keyPath is not null && !FileExists(keyPath, $"{key}:KeyPath", errors))
                {
                    return null;
                }

                var chain = new X509Certificate2Collection();
                chain.ImportFromPemFile(path);
                if (chain.Count == 0)
                {
                    errors.Add($"{key}:Path: '{path}' holds no PEM certificate.");
                    return null;
                }

                leaf = X509Certificate2.CreateFromPemFile(path, keyPath);
                intermediates.AddRange(chain.Skip(1).Where(c => !IsSelfSigned(c)).ToArray());
            }

            if (!leaf.HasPrivateKey)
            {
                errors.Add($"{key}:KeyPath: no private key for '{path}' (give KeyPath, or put the key in the same PEM file).");
                return null;
            }

            // offline: never fetch missing intermediates over the network.
            var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
            return new ServerCertificate(leaf, context, path);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            var file = string.IsNullOrWhiteSpace(options.KeyPath) ? path : $"{path}' / '{ResolvePath(baseDirectory, options.KeyPath)}";
            errors.Add($"{key}: cannot load '{file}': {ex.Message} (unparsable PEM/PKCS#12, wrong password, or a key that does not match the certificate).");
            return null;
        }
    }

    private static Dictionary<string, TrustStore> CompileTrustStores(Dictionary<string, TrustStoreSection> sections, string baseDirectory, string crlCacheDirectory, List<string> errors)
    {
        var stores = new Dictionary<string, TrustStore>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, section) in sections)
        {
            var prefix = $"MtlsGate:TrustStores:{name}";
            var key = $"{prefix}:CaBundle";
            if (string.IsNullOrWhiteSpace(section.CaBundle))
            {
                errors.Add($"{key}: required (a PEM file with the CA certificates client certificates must chain to).");
                continue;
            }

            var path = ResolvePath(baseDirectory, section.CaBundle);
            if (LoadCaBundle(path, key, errors) is not { } bundle)
            {
                continue;
            }

            var authorities = bundle.Roots.Concat(bundle.Intermediates).ToList();
            var crls = new List<CrlSource>();
            for (var i = 0; i < section.Crls.Count; i++)
            {
                if (LoadCrl(ResolvePath(baseDirectory, section.Crls[i]), $"{prefix}:Crls:{i}", authorities, errors) is { } crl)
                {
                    crls.Add(crl);
                }
            }

            for (var i = 0; i < section.CrlUrls.Count; i++)
            {
                var urlKey = $"{prefix}:CrlUrls:{i}";
                if (!Uri.TryCreate(section.CrlUrls[i], UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
                {
                    errors.Add($"{urlKey}: '{section.CrlUrls[i]}' is not an absolute http:// or https:// URL.");
                    continue;
                }

                // Fetched in the background into the cache; until the first fetch there is no CRL for it
                // (readiness reports it). A cached copy is verified like any CRL file.
                var cached = CrlCachePath(crlCacheDirectory, url);
                if (File.Exists(cached) && LoadCrl(cached, urlKey, authorities, errors) is { } crl)
                {
                    crls.Add(crl);
                }
            }

            var duplicates = crls.GroupBy(c => c.Issuer.Thumbprint).Where(g => g.Count() > 1).ToList();
            foreach (var duplicate in duplicates)
            {
                errors.Add($"{prefix}:Crls: several CRLs for '{duplicate.First().Issuer.Subject}' ({string.Join(", ", duplicate.Select(d => d.Source))}); give one per CA.");
            }

            var fingerprints = CompileFingerprints(section.DenyFingerprints, $"{prefix}:DenyFingerprints", errors);

            var serials = new List<(string, string)>();
            for (var i = 0; i < section.DenySerials.Count; i++)
            {
                var entry = section.DenySerials[i];
                try
                {
                    var issuer = new X500DistinguishedName(entry.Issuer ?? throw new CryptographicException("Issuer is required")).Name;
                    serials.Add((issuer, CertificateRevocationList.NormalizeSerial(entry.Serial ?? throw new FormatException("Serial is required"))));
                }
                catch (Exception ex) when (ex is CryptographicException or FormatException)
                {
                    errors.Add($"{prefix}:DenySerials:{i}: needs Issuer (a DN such as CN=Home CA) and Serial (hex): {ex.Message}");
                }
            }

            var grace = section.StaleCrlGrace ?? TimeSpan.Zero;
            if (grace < TimeSpan.Zero)
            {
                errors.Add($"{prefix}:StaleCrlGrace: must not be negative.");
            }

            stores[name] = new TrustStore(name, bundle.Roots, bundle.Intermediates, new Revocation(crls, fingerprints, serials, grace));
        }

        return stores;
    }

    /// <summary>The cache file of a CRL URL.</summary>
    public static string CrlCachePath(string cacheDirectory, Uri url) =>
        Path.Combine(cacheDirectory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url.AbsoluteUri))) + ".crl");

    /// <summary>True when the file exists; otherwise reports it under its configuration key.</summary>
    private static bool FileExists(string path, string key, List<string> errors)
    {
        if (File.Exists(path))
        {
            return true;
        }

        errors.Add($"{key}: file '{path}' does not exist.");
        return false;
    }

    /// <summary>Loads and verifies a CRL file: parsable, signed by a CA of the bundle with a matching issuer name.</summary>
    internal static CrlSource? LoadCrl(string path, string key, IReadOnlyList<X509Certificate2> authorities, List<string> errors)
    {
        if (!FileExists(path, key, errors))
        {
            return null;
        }

        CertificateRevocationList crl;
        try
        {
            crl = CertificateRevocationList.Parse(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or IOException or UnauthorizedAccessException)
        {
            errors.Add($"{key}: cannot parse CRL '{path}': {ex.Message}");
            return null;
        }

        var reasons = new List<string>();
        foreach (var authority in authorities)
        {
            var problem = crl.Verify(authority, DateTimeOffset.UtcNow);
            if (problem is null)
            {
                return new CrlSource(crl, authority, path);
            }

            if (authority.SubjectName.RawData.AsSpan().SequenceEqual(crl.Issuer.RawData))
            {
                reasons.Add(problem);
            }
        }

        errors.Add($"{key}: CRL '{path}' (issuer '{crl.Issuer.Name}') is rejected: {(reasons.Count == 0 ? "no CA of the bundle has that name" : string.Join("; ", reasons))}.");
        return null;
    }

    /// <summary>Loads a PEM CA bundle, split into roots (self-signed) and intermediates; every certificate must be a CA.</summary>
    internal static (List<X509Certificate2> Roots, List<X509Certificate2> Intermediates)? LoadCaBundle(string path, string key, List<string> errors)
    {
        if (!FileExists(path, key, errors))
        {
            return null;
        }

        var collection = new X509Certificate2Collection();
        try
        {
            var text = File.ReadAllText(path);
            if (!text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                errors.Add($"{key}: '{path}' holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks).");
                return null;
            }

            collection.ImportFromPem(text);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            errors.Add($"{key}: cannot read '{path}': {ex.Message}");
            return null;
        }

        var roots = new List<X509Certificate2>();
        var intermediates = new List<X509Certificate2>();
        var ok = true;
        foreach (var certificate in collection)
        {
            var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
            if (constraints is not { CertificateAuthority: true })
            {
                errors.Add($"{key}: '{path}' contains '{certificate.Subject}', which is not a CA certificate (basic constraints CA:TRUE required); put only CA certificates in a bundle.");
                ok = false;
                continue;
            }

            (IsSelfSigned(certificate) ? roots : intermediates).Add(certificate);
        }

        if (ok && roots.Count == 0)
        {
            errors.Add($"{key}: '{path}' contains no root (self-signed) CA certificate; chains must end at a root of the bundle.");
            ok = false;
        }

        return ok ? (roots, intermediates) : null;
    }

    private static bool IsSelfSigned(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    private static Dictionary<string, CompiledPolicy> CompilePolicies(Dictionary<string, PolicySection> sections, IConfigurationSection raw, Dictionary<string, TrustStore> trustStores, bool globalLogOnly, List<string> errors)
    {
        if (!sections.ContainsKey(GatewaySnapshot.DefaultName))
        {
            // Fail closed: without a Default policy, the default is "valid certificate, else 404".
            sections = new Dictionary<string, PolicySection>(sections, StringComparer.OrdinalIgnoreCase) { [GatewaySnapshot.DefaultName] = new PolicySection() };
        }

        var policies = new Dictionary<string, CompiledPolicy>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, section) in sections)
        {
            var key = $"MtlsGate:Policies:{name}";
            var ok = true;
            var trustStore = section.TrustStore ?? GatewaySnapshot.DefaultName;
            if (!Enum.TryParse<Requirement>(section.Require ?? nameof(Requirement.Certificate), ignoreCase: true, out var require) || !Enum.IsDefined(require))
            {
                errors.Add($"{key}:Require: '{section.Require}' is not one of Certificate, None.");
                ok = false;
            }

            if (!Enum.TryParse<EnforcementMode>(section.Mode ?? nameof(EnforcementMode.Enforce), ignoreCase: true, out var mode) || !Enum.IsDefined(mode))
            {
                errors.Add($"{key}:Mode: '{section.Mode}' is not one of Enforce, LogOnly.");
                ok = false;
            }

            if (require == Requirement.Certificate && !trustStores.ContainsKey(trustStore) && (section.TrustStore is not null || trustStores.Count != 0))
            {
                errors.Add($"{key}:TrustStore: unknown trust store '{trustStore}' (defined: {string.Join(", ", trustStores.Keys.DefaultIfEmpty("none"))}).");
                ok = false;
            }

            var deny = section.Deny is null ? DenialResponse.NotFound : CompileDeny(section.Deny, $"{key}:Deny", errors);
            var byReason = new Dictionary<DenyReason, DenialResponse>();
            foreach (var (reasonName, denySection) in section.DenyByReason)
            {
                if (!Enum.TryParse<DenyReason>(reasonName, ignoreCase: true, out var reason) || reason == DenyReason.None || !Enum.IsDefined(reason) || int.TryParse(reasonName, out _))
                {
                    errors.Add($"{key}:DenyByReason:{reasonName}: unknown reason (known: {string.Join(", ", Enum.GetNames<DenyReason>().Skip(1))}).");
                    ok = false;
                    continue;
                }

                if (CompileDeny(denySection, $"{key}:DenyByReason:{reasonName}", errors) is { } response)
                {
                    byReason[reason] = response;
                }
            }

            // "Identities" present (even as {} or with empty lists) is an allow-list; absent means any valid certificate.
            var identitiesPresent = raw.GetSection(name).GetChildren().Any(c => c.Key.Equals("Identities", StringComparison.OrdinalIgnoreCase));
            var identities = identitiesPresent ? CompileIdentities(section.Identities ?? new IdentitiesSection(), $"{key}:Identities", errors) : null;
            var restrictions = new List<MethodRestriction>();
            for (var i = 0; i < section.MethodRestrictions.Count; i++)
            {
                var restrictionKey = $"{key}:MethodRestrictions:{i}";
                var entry = section.MethodRestrictions[i];
                if (entry.Methods.Count == 0 || entry.Methods.Any(m => !IsToken(m)))
                {
                    errors.Add($"{restrictionKey}:Methods: give the allowed HTTP methods, e.g. [\"GET\", \"HEAD\"].");
                    ok = false;
                    continue;
                }

                restrictions.Add(new MethodRestriction(CompileIdentities(entry, restrictionKey, errors), entry.Methods.Select(m => m.ToUpperInvariant()).ToList()));
            }

            var countries = new[] { (section.AllowCountries, "AllowCountries"), (section.DenyCountries, "DenyCountries") };
            foreach (var (list, listName) in countries)
            {
                foreach (var code in list.Where(c => c.Length != 2 || !c.All(char.IsAsciiLetter)))
                {
                    errors.Add($"{key}:{listName}: '{code}' is not an ISO 3166 two-letter country code.");
                    ok = false;
                }
            }

            if (ok && deny is not null)
            {
                policies[name] = new CompiledPolicy(name, trustStore, require, globalLogOnly ? EnforcementMode.LogOnly : mode, deny, byReason.ToFrozenDictionary())
                {
                    Identities = identities,
                    MethodRestrictions = restrictions,
                    BypassNetworks = CompileNetworks(section.BypassNetworks, $"{key}:BypassNetworks", errors),
                    AllowNetworks = CompileNetworks(section.AllowNetworks, $"{key}:AllowNetworks", errors),
                    DenyNetworks = CompileNetworks(section.DenyNetworks, $"{key}:DenyNetworks", errors),
                    AllowCountries = section.AllowCountries.Select(c => c.ToUpperInvariant()).ToList(),
                    DenyCountries = section.DenyCountries.Select(c => c.ToUpperInvariant()).ToList(),
                };
            }
        }

        return policies;
    }

    /// <summary>SHA-256 fingerprints as lower-case hex (colons and case allowed in configuration).</summary>
    private static List<string> CompileFingerprints(List<string> values, string key, List<string> errors)
    {
        var fingerprints = new List<string>();
        for (var i = 0; i < values.Count; i++)
        {
            var hex = values[i].Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
            if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            {
                errors.Add($"{key}:{i}: '{values[i]}' is not a SHA-256 fingerprint (64 hex digits).");
                continue;
            }

            fingerprints.Add(hex);
        }

        return fingerprints;
    }

    private static IdentityMatcher CompileIdentities(IdentitiesSection section, string key, List<string> errors)
    {
        var fingerprints = CompileFingerprints(section.Fingerprints, $"{key}:Fingerprints", errors);

        var pins = new List<string>();
        foreach (var pin in section.SpkiPins)
        {
            var value = pin.StartsWith("sha256/", StringComparison.Ordinal) ? pin["sha256/".Length..] : pin;
            var isHex = value.Length == 64 && value.All(char.IsAsciiHexDigit);
            var isBase64 = value.Length == 44 && Convert.TryFromBase64String(value, new byte[32], out var written) && written == 32;
            if (!isHex && !isBase64)
            {
                errors.Add($"{key}:SpkiPins: '{pin}' is not a SHA-256 SPKI pin (base64 of 32 bytes, as in 'openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64', or 64 hex digits).");
                continue;
            }

            pins.Add(value);
        }

        var issuers = new List<string>();
        foreach (var issuer in section.Issuers)
        {
            try
            {
                issuers.Add(new X500DistinguishedName(issuer).Name);
            }
            catch (CryptographicException)
            {
                errors.Add($"{key}:Issuers: '{issuer}' is not a distinguished name (e.g. CN=Home CA, O=Home).");
            }
        }

        return new IdentityMatcher(section.SubjectCommonNames, section.Organizations, section.OrganizationalUnits, section.DnsNames,
            section.Emails, section.Uris, section.UriPrefixes, issuers, fingerprints, pins);
    }

    private static List<System.Net.IPNetwork> CompileNetworks(List<string> values, string key, List<string> errors)
    {
        var networks = new List<System.Net.IPNetwork>();
        foreach (var value in values)
        {
            var text = value.Contains('/', StringComparison.Ordinal) ? value : IPAddress.TryParse(value, out var single)
                ? $"{value}/{(single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)}"
                : value;
            if (System.Net.IPNetwork.TryParse(text, out var network))
            {
                networks.Add(network);
            }
            else
            {
                errors.Add($"{key}: '{value}' is not a network in CIDR notation (e.g. 192.168.1.0/24, fd00::/8) or an IP address.");
            }
        }

        return networks;
    }

    private static CountryLookup? CompileGeoIp(GeoIpSection section, string baseDirectory, bool needed, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(section.Database))
        {
            if (needed)
            {
                errors.Add("MtlsGate:GeoIp:Database: required by AllowCountries/DenyCountries (a MaxMind-format .mmdb country database you supply; it is never downloaded).");
            }

            return null;
        }

        var path = ResolvePath(baseDirectory, section.Database);
        if (!FileExists(path, "MtlsGate:GeoIp:Database", errors))
        {
            return null;
        }

        try
        {
            return new CountryLookup(path);
        }
        catch (Exception ex) when (ex is IOException or MaxMind.Db.InvalidDatabaseException or UnauthorizedAccessException or ArgumentException)
        {
            errors.Add($"MtlsGate:GeoIp:Database: cannot open '{path}' as a MaxMind database: {ex.Message}");
            return null;
        }
    }

    private static Dictionary<string, CompiledHost> CompileHosts(Dictionary<string, HostSection> sections, string baseDirectory, Dictionary<string, TrustStore> trustStores, Dictionary<string, CompiledPolicy> policies, bool server, List<string> errors)
    {
        var hosts = new Dictionary<string, CompiledHost>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, section) in sections)
        {
            var key = $"MtlsGate:Hosts:{name}";
            if (Uri.CheckHostName(name) != UriHostNameType.Dns || name.Contains('*', StringComparison.Ordinal))
            {
                errors.Add($"{key}: '{name}' is not a host name (exact DNS names only; IP literals carry no SNI and use the top-level settings).");
                continue;
            }

            ServerCertificate? certificate = null;
            if (server && section.ServerCertificate is { } certificateSection)
            {
                certificate = CompileServerCertificate(certificateSection, baseDirectory, errors, $"{key}:ServerCertificate");
            }

            TrustStore? store = null;
            if (section.TrustStore is not null && !trustStores.TryGetValue(section.TrustStore, out store))
            {
                errors.Add($"{key}:TrustStore: unknown trust store '{section.TrustStore}' (defined: {string.Join(", ", trustStores.Keys)}).");
            }

            CompiledPolicy? policy = null;
            if (section.Policy is not null && !policies.TryGetValue(section.Policy, out policy))
            {
                errors.Add($"{key}:Policy: unknown policy '{section.Policy}' (defined: {string.Join(", ", policies.Keys)}).");
            }

            hosts[name] = new CompiledHost(name.ToLowerInvariant(), certificate, store, policy);
        }

        return hosts;
    }

    internal static DenialResponse? CompileDeny(DenySection section, string key, List<string> errors)
    {
        var action = DenialAction.Respond;
        if (section.Action is not null && !Enum.TryParse(section.Action, ignoreCase: true, out action) || !Enum.IsDefined(action))
        {
            errors.Add($"{key}:Action: '{section.Action}' is not one of Respond, Close.");
            return null;
        }

        if (action == DenialAction.Close)
        {
            return DenialResponse.CloseConnection;
        }

        var ok = true;
        var status = section.Status ?? DenialResponse.DefaultStatus;
        if (status is < 200 or > 599)
        {
            errors.Add($"{key}:Status: {status} is not a final HTTP status (200-599).");
            ok = false;
        }
        else if (ClientWipingStatuses.Contains(status) && !section.AllowClientWipingStatus)
        {
            errors.Add($"{key}:Status: {status} is refused: Bitwarden clients log out and delete their offline vault on 401/403 (and 407 is a proxy challenge). Use 404 (default), 429, a 5xx or Action: Close; set {key}:AllowClientWipingStatus: true only if no such client is behind this gateway.");
            ok = false;
        }

        var body = section.Body ?? (section.Status is null || section.Status == DenialResponse.DefaultStatus ? DenialResponse.DefaultBody : "");
        if (status is 204 or 304 && body.Length != 0)
        {
            errors.Add($"{key}:Body: status {status} cannot carry a body.");
            ok = false;
        }

        var contentType = section.ContentType ?? DenialResponse.DefaultContentType;
        if (!IsSafeHeaderValue(contentType))
        {
            errors.Add($"{key}:ContentType: contains a control character.");
            ok = false;
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in section.Headers)
        {
            if (!IsToken(name) || ForbiddenDenyHeaders.Contains(name))
            {
                errors.Add($"{key}:Headers:{name}: not an allowed header name (a valid token, not one of {string.Join(", ", ForbiddenDenyHeaders)}).");
                ok = false;
            }
            else if (!IsSafeHeaderValue(value))
            {
                errors.Add($"{key}:Headers:{name}: the value contains a control character (CR, LF or NUL).");
                ok = false;
            }
            else
            {
                headers.Add(new(name, value));
            }
        }

        return ok ? new DenialResponse(DenialAction.Respond, status, contentType, Encoding.UTF8.GetBytes(body), headers) : null;
    }

    private static void ValidateRoutes(IConfigurationSection reverseProxy, Dictionary<string, CompiledPolicy> policies, List<string> errors)
    {
        var clusters = reverseProxy.GetSection("Clusters");
        foreach (var cluster in clusters.GetChildren())
        {
            foreach (var destination in cluster.GetSection("Destinations").GetChildren())
            {
                var address = destination["Address"];
                if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                {
                    errors.Add($"{destination.Path}:Address: '{address}' is not an absolute http:// or https:// URL.");
                }
            }
        }

        foreach (var route in reverseProxy.GetSection("Routes").GetChildren())
        {
            var clusterId = route["ClusterId"];
            if (string.IsNullOrEmpty(clusterId) || !clusters.GetSection(clusterId).Exists())
            {
                errors.Add($"{route.Path}:ClusterId: unknown cluster '{clusterId}'.");
            }

            RouteMetadataCompiler.Validate(route, errors);
            var policy = route[$"Metadata:{PolicyMetadataKey}"];
            if (policy is not null && !policies.ContainsKey(policy))
            {
                errors.Add($"{route.Path}:Metadata:{PolicyMetadataKey}: unknown policy '{policy}' (defined: {string.Join(", ", policies.Keys)}).");
            }
        }
    }

    private static ReloadSettings CompileReload(ReloadSection section, string baseDirectory, List<string> errors)
    {
        var settings = new ReloadSettings(
            section.PollInterval ?? TimeSpan.FromSeconds(2),
            section.CrlRefreshInterval ?? TimeSpan.FromHours(1),
            section.CrlCacheDirectory is null ? Path.Combine(Path.GetTempPath(), "mtlsgate-crl-cache") : ResolvePath(baseDirectory, section.CrlCacheDirectory));
        if (settings.PollInterval <= TimeSpan.Zero)
        {
            errors.Add("MtlsGate:Reload:PollInterval: must be positive.");
        }

        if (settings.CrlRefreshInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add("MtlsGate:Reload:CrlRefreshInterval: must be at least one second.");
        }

        return settings;
    }

    private static ExpirySettings CompileExpiry(ExpirySection section, List<string> errors)
    {
        var days = section.WarnDays.Count == 0 ? [30, 7, 1] : section.WarnDays.Distinct().OrderByDescending(d => d).ToList();
        if (days.Any(d => d < 0))
        {
            errors.Add("MtlsGate:Expiry:WarnDays: days must not be negative.");
        }

        return new ExpirySettings(days, section.SendDaysLeftHeader);
    }

    /// <summary>Every file the snapshot was built from (the reloader watches them).</summary>
    private static List<string> InputFiles(MtlsGateOptions options, string baseDirectory, string crlCache)
    {
        var files = new List<string?> { options.ServerCertificate.Path, options.ServerCertificate.KeyPath, options.GeoIp.Database };
        foreach (var host in options.Hosts.Values)
        {
            files.Add(host.ServerCertificate?.Path);
            files.Add(host.ServerCertificate?.KeyPath);
        }

        foreach (var store in options.TrustStores.Values)
        {
            files.Add(store.CaBundle);
            files.AddRange(store.Crls);
            files.AddRange(store.CrlUrls.Where(u => Uri.TryCreate(u, UriKind.Absolute, out _)).Select(u => CrlCachePath(crlCache, new Uri(u))));
        }

        return files.Where(f => !string.IsNullOrWhiteSpace(f)).Select(f => ResolvePath(baseDirectory, f!)).Distinct().ToList();
    }

    private static ForwardingSettings CompileForwarding(ForwardingSection section, List<string> errors)
    {
        if (!Enum.TryParse<IdentityHeaderFormat>(section.IdentityHeaders ?? nameof(IdentityHeaderFormat.Individual), ignoreCase: true, out var format) || !Enum.IsDefined(format))
        {
            errors.Add($"MtlsGate:Forwarding:IdentityHeaders: '{section.IdentityHeaders}' is not one of {string.Join(", ", Enum.GetNames<IdentityHeaderFormat>())}.");
        }

        return new ForwardingSettings(format, section.PreserveHost);
    }

    private static LimitsSettings CompileLimits(LimitsSection limits, TlsSection tls, List<string> errors)
    {
        var settings = new LimitsSettings(
            limits.MaxRequestBodySize ?? DefaultMaxRequestBodySize,
            tls.HandshakeTimeout ?? TimeSpan.FromSeconds(10),
            limits.RequestHeadersTimeout ?? TimeSpan.FromSeconds(30),
            limits.KeepAliveTimeout ?? TimeSpan.FromSeconds(130),
            limits.MaxConcurrentConnections,
            limits.MaxStreamsPerConnection ?? 100,
            limits.DrainTimeout ?? TimeSpan.FromSeconds(30));
        Positive(settings.MaxRequestBodySize, "MtlsGate:Limits:MaxRequestBodySize");
        Positive(settings.HandshakeTimeout.Ticks, "MtlsGate:Tls:HandshakeTimeout");
        Positive(settings.RequestHeadersTimeout.Ticks, "MtlsGate:Limits:RequestHeadersTimeout");
        Positive(settings.KeepAliveTimeout.Ticks, "MtlsGate:Limits:KeepAliveTimeout");
        Positive(settings.MaxConcurrentConnections ?? 1, "MtlsGate:Limits:MaxConcurrentConnections");
        Positive(settings.MaxStreamsPerConnection, "MtlsGate:Limits:MaxStreamsPerConnection");
        Positive(settings.DrainTimeout.Ticks + 1, "MtlsGate:Limits:DrainTimeout");
        return settings;

        void Positive(long value, string key)
        {
            if (value <= 0)
            {
                errors.Add($"{key}: must be positive (got {value.ToString(CultureInfo.InvariantCulture)}).");
            }
        }
    }

    private static bool IsToken(string name) =>
        name.Length != 0 && name.All(c => c < 127 && (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)));

    private static bool IsSafeHeaderValue(string value) => !value.Any(c => c < 0x20 && c != '\t' || c == 0x7F);
}
