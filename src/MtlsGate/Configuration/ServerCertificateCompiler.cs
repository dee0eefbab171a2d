using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:ServerCertificate</c> (and each host's): PEM with its key, or PKCS#12 with its password.</summary>
public static class ServerCertificateCompiler
{
    public static ServerCertificate? Compile(ServerCertificateSection options, string baseDirectory, string key, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            errors.Add($"{key}:Path", "required (a PEM certificate with its KeyPath, or a PKCS#12 .pfx/.p12 with Password).");
            return null;
        }

        var path = ConfigCompiler.ResolvePath(baseDirectory, options.Path);
        if (!errors.FileExists(path, $"{key}:Path"))
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
                    errors.Add($"{key}:Path", $"'{path}' must hold exactly one certificate with a private key (found {withKey.Count}).");
                    return null;
                }

                leaf = withKey[0];
                intermediates.AddRange(all.Where(c => !c.HasPrivateKey && !TrustStoreCompiler.IsSelfSigned(c)).ToArray());
            }
            else
            {
                var keyPath = string.IsNullOrWhiteSpace(options.KeyPath) ? null : ConfigCompiler.ResolvePath(baseDirectory, options.KeyPath);
                if (keyPath is not null && !errors.FileExists(keyPath, $"{key}:KeyPath"))
                {
                    return null;
                }

                var chain = new X509Certificate2Collection();
                chain.ImportFromPemFile(path);
                if (chain.Count == 0)
                {
                    errors.Add($"{key}:Path", $"'{path}' holds no PEM certificate.");
                    return null;
                }

                leaf = X509Certificate2.CreateFromPemFile(path, keyPath);
                intermediates.AddRange(chain.Skip(1).Where(c => !TrustStoreCompiler.IsSelfSigned(c)).ToArray());
            }

            if (!leaf.HasPrivateKey)
            {
                errors.Add($"{key}:KeyPath", $"no private key for '{path}' (give KeyPath, or put the key in the same PEM file).");
                return null;
            }

            // offline: never fetch missing intermediates over the network.
            var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
            return new ServerCertificate(leaf, context, path);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            var file = string.IsNullOrWhiteSpace(options.KeyPath) ? path : $"{path}' / '{ConfigCompiler.ResolvePath(baseDirectory, options.KeyPath)}";
            errors.Add(key, $"cannot load '{file}': {ex.Message} (unparsable PEM/PKCS#12, wrong password, or a key that does not match the certificate).");
            return null;
        }
    }
}
