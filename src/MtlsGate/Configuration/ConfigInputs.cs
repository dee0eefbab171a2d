using Microsoft.Extensions.Configuration;

namespace MtlsGate.Configuration;

/// <summary>
/// The files a configuration reads (certificates, keys, CA bundles, CRLs, cached CRL downloads, the
/// GeoIP database), listed from the bound options alone, so that the list exists even when the
/// configuration does not compile: the reloader must keep watching the files of a refused
/// configuration, or creating the missing file that refused it would never be noticed.
/// </summary>
public static class ConfigInputs
{
    /// <summary>
    /// Every file the configuration names, bound best-effort: a value that does not bind (refused by
    /// the compiler anyway) only leaves its file out of the list.
    /// </summary>
    public static IReadOnlyList<string> Files(IConfiguration configuration, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new MtlsGateOptions();
        try
        {
            configuration.GetSection(MtlsGateOptions.SectionName).Bind(options, o => o.ErrorOnUnknownConfiguration = false);
        }
        catch (InvalidOperationException)
        {
            // Binding stops at the first value it cannot convert; what was bound before it is still listed.
        }

        var stateDirectory = string.IsNullOrWhiteSpace(options.StateDirectory)
            ? StateDirectoryCompiler.DefaultPath()
            : ConfigCompiler.ResolvePath(baseDirectory, options.StateDirectory);
        var crlCache = options.Reload.CrlCacheDirectory is { Length: > 0 } cache
            ? ConfigCompiler.ResolvePath(baseDirectory, cache)
            : Path.Combine(stateDirectory, "crl-cache");
        return Files(options, baseDirectory, crlCache);
    }

    /// <summary>Every file of bound options (the compiler records them on the snapshot).</summary>
    public static IReadOnlyList<string> Files(MtlsGateOptions options, string baseDirectory, string crlCache)
    {
        ArgumentNullException.ThrowIfNull(options);
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
            files.AddRange(store.CrlUrls.Where(u => Uri.TryCreate(u, UriKind.Absolute, out _)).Select(u => ConfigCompiler.CrlCachePath(crlCache, new Uri(u))));
        }

        foreach (var backend in options.Backends.Values)
        {
            files.AddRange([backend.ClientCertificate?.Path, backend.ClientCertificate?.KeyPath, backend.CaBundle]);
        }

        foreach (var edge in options.Edges.Values)
        {
            files.AddRange(edge.PinnedCertificateFiles);
        }

        var resolved = new List<string>();
        foreach (var file in files)
        {
            if (string.IsNullOrWhiteSpace(file))
            {
                continue;
            }

            try
            {
                resolved.Add(ConfigCompiler.ResolvePath(baseDirectory, file));
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
            {
                // Not a usable path: the compiler reports it; there is nothing to watch.
            }
        }

        return resolved.Distinct(StringComparer.Ordinal).ToList();
    }
}
