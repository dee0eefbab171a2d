using System.Security.Cryptography;
using System.Text;
using MtlsGate.Text;
using MtlsGate.Tls;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:TrustStores:NAME</c>: CA bundle, CRL files and URLs (cached), deny-lists, grace.</summary>
public static class TrustStoreCompiler
{
    public static Dictionary<string, TrustStore> Compile(Dictionary<string, TrustStoreSection> sections, string baseDirectory, string crlCacheDirectory, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentNullException.ThrowIfNull(errors);
        var stores = new Dictionary<string, TrustStore>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, section) in sections)
        {
            var prefix = $"MtlsGate:TrustStores:{name}";
            var key = $"{prefix}:CaBundle";
            if (string.IsNullOrWhiteSpace(section.CaBundle))
            {
                errors.Add(key, "required (a PEM file with the CA certificates client certificates must chain to).");
                continue;
            }

            if (LoadCaBundle(ConfigCompiler.ResolvePath(baseDirectory, section.CaBundle), key, errors) is not { } bundle)
            {
                continue;
            }

            var authorities = bundle.Roots.Concat(bundle.Intermediates).ToList();
            var crls = new List<CrlSource>();
            for (var i = 0; i < section.Crls.Count; i++)
            {
                if (LoadCrl(ConfigCompiler.ResolvePath(baseDirectory, section.Crls[i]), $"{prefix}:Crls:{i}", authorities, errors) is { } crl)
                {
                    crls.Add(crl);
                }
            }

            for (var i = 0; i < section.CrlUrls.Count; i++)
            {
                var urlKey = $"{prefix}:CrlUrls:{i}";
                if (!Uri.TryCreate(section.CrlUrls[i], UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
                {
                    errors.Add(urlKey, $"'{section.CrlUrls[i]}' is not an absolute http:// or https:// URL.");
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

            foreach (var duplicate in crls.GroupBy(c => c.Issuer.Thumbprint).Where(g => g.Count() > 1))
            {
                errors.Add($"{prefix}:Crls", $"several CRLs for '{duplicate.First().Issuer.Subject}' ({string.Join(", ", duplicate.Select(d => d.Source))}); give one per CA.");
            }

            var fingerprints = IdentityCompiler.Fingerprints(section.DenyFingerprints, $"{prefix}:DenyFingerprints", errors);
            var serials = new List<(string, string)>();
            for (var i = 0; i < section.DenySerials.Count; i++)
            {
                var entry = section.DenySerials[i];
                try
                {
                    var issuer = new X500DistinguishedName(entry.Issuer ?? throw new CryptographicException("Issuer is required")).Name;
                    serials.Add((issuer, SerialNumber.Normalize(entry.Serial ?? throw new FormatException("Serial is required"))));
                }
                catch (Exception ex) when (ex is CryptographicException or FormatException)
                {
                    errors.Add($"{prefix}:DenySerials:{i}", $"needs Issuer (a DN such as CN=Home CA) and Serial (hex): {ex.Message}");
                }
            }

            if (section.StaleCrlGrace < TimeSpan.Zero)
            {
                errors.Add($"{prefix}:StaleCrlGrace", "must not be negative.");
            }

            stores[name] = new TrustStore(name, bundle.Roots, bundle.Intermediates, new Revocation(crls, fingerprints, serials, section.StaleCrlGrace));
        }

        return stores;
    }

    /// <summary>The cache file of a CRL URL.</summary>
    public static string CrlCachePath(string cacheDirectory, Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return Path.Combine(cacheDirectory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url.AbsoluteUri))) + ".crl");
    }

    /// <summary>Loads and verifies a CRL file: parsable, signed by a CA of the bundle with a matching issuer name.</summary>
    public static CrlSource? LoadCrl(string path, string key, IReadOnlyList<X509Certificate2> authorities, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        ArgumentNullException.ThrowIfNull(errors);
        if (!errors.FileExists(path, key))
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
            errors.Add(key, $"cannot parse CRL '{path}': {ex.Message}");
            return null;
        }

        var reasons = new List<string>();
        foreach (var authority in authorities)
        {
            var problem = crl.Verify(authority, DateTimeOffset.UtcNow);
            if (problem is null)
            {
                return new CrlSource(crl, authority, path) { Key = key };
            }

            if (authority.SubjectName.RawData.AsSpan().SequenceEqual(crl.Issuer.RawData))
            {
                reasons.Add(problem);
            }
        }

        errors.Add(key, $"CRL '{path}' (issuer '{crl.Issuer.Name}') is rejected: {(reasons.Count == 0 ? "no CA of the bundle has that name" : string.Join("; ", reasons))}.");
        return null;
    }

    /// <summary>Loads a PEM CA bundle, split into roots (self-signed) and intermediates; every certificate must be a CA.</summary>
    public static (List<X509Certificate2> Roots, List<X509Certificate2> Intermediates)? LoadCaBundle(string path, string key, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!errors.FileExists(path, key))
        {
            return null;
        }

        var collection = new X509Certificate2Collection();
        try
        {
            var text = File.ReadAllText(path);
            if (!text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                errors.Add(key, $"'{path}' holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks).");
                return null;
            }

            collection.ImportFromPem(text);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            errors.Add(key, $"cannot read '{path}': {ex.Message}");
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
                errors.Add(key, $"'{path}' contains '{certificate.Subject}', which is not a CA certificate (basic constraints CA:TRUE required); put only CA certificates in a bundle.");
                ok = false;
                continue;
            }

            (IsSelfSigned(certificate) ? roots : intermediates).Add(certificate);
        }

        if (ok && roots.Count == 0)
        {
            errors.Add(key, $"'{path}' contains no root (self-signed) CA certificate; chains must end at a root of the bundle.");
            ok = false;
        }

        return ok ? (roots, intermediates) : null;
    }

    internal static bool IsSelfSigned(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);
}
