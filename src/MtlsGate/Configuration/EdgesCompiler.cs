using System.Collections.Frozen;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Text;
using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>
/// <c>MtlsGate:Edges:NAME</c> → <see cref="EdgeSet"/>. Refused, each naming its key: an edge with no
/// source; a <c>Listen</c> that is not plain HTTP on a loopback address with an explicit port; a pin
/// that is not 64 hex digits; a pinned file that does not hold a certificate; a pin or a listener
/// claimed by two edges; two address-only edges with overlapping networks (which one would a
/// connection be?); a format that is not one of the names.
/// </summary>
public static class EdgesCompiler
{
    public static EdgeSet Compile(Dictionary<string, EdgeSection> sections, string baseDirectory, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentNullException.ThrowIfNull(errors);
        var edges = new List<Edge>();
        var pinOwners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, section) in sections.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase))
        {
            var prefix = $"MtlsGate:Edges:{name}";
            errors.Enum(section.Format, $"{prefix}:Format", EdgeFormat.Rfc9440, out var format);
            var listen = section.Listen is null ? null : Listen(section.Listen, $"{prefix}:Listen", errors);
            var pins = IdentityCompiler.Fingerprints(section.PinnedCertificates, $"{prefix}:PinnedCertificates", errors);
            var known = new List<X509Certificate2>();
            for (var i = 0; i < section.PinnedCertificateFiles.Count; i++)
            {
                if (LoadCertificate(section.PinnedCertificateFiles[i], baseDirectory, $"{prefix}:PinnedCertificateFiles:{i}", errors) is { } certificate)
                {
                    known.Add(certificate);
                    pins.Add(Fingerprint.Sha256(certificate));
                }
            }

            var proxies = IdentityCompiler.Networks(section.TrustedProxies, $"{prefix}:TrustedProxies", errors);
            var hasSource = section.Listen is not null || section.PinnedCertificates.Count + section.PinnedCertificateFiles.Count + section.TrustedProxies.Count != 0;
            if (!hasSource)
            {
                errors.Add(prefix, "no source: set Listen (a loopback plain-HTTP listener for a local tunnel connector), PinnedCertificates / PinnedCertificateFiles (the edge's TLS client certificate) or TrustedProxies (its addresses); an edge nobody can be would never be used.");
            }

            if (listen is not null && pins.Count != 0)
            {
                errors.Add($"{prefix}:PinnedCertificates", "an edge with Listen is a plain-HTTP listener, where no certificate can be presented: pin the certificate on another edge (its connections arrive on the gateway's TLS listener).");
            }

            foreach (var pin in pins.Distinct(StringComparer.Ordinal))
            {
                if (pinOwners.TryGetValue(pin, out var owner))
                {
                    errors.Add($"{prefix}:PinnedCertificates", $"{pin} is already pinned by MtlsGate:Edges:{owner}: a connection presenting it would be two edges.");
                }
                else
                {
                    pinOwners[pin] = name;
                }
            }

            if (!errors.Reported(prefix))
            {
                edges.Add(new Edge(name, format, listen, pins.ToFrozenSet(StringComparer.Ordinal), proxies, known));
            }
        }

        CheckListenersDistinct(edges, errors);
        CheckAddressEdgesDisjoint(edges, errors);
        return edges.Count == 0 ? EdgeSet.Empty : new EdgeSet(edges);
    }

    /// <summary>Plain HTTP on a loopback address (or <c>localhost</c>) with an explicit port: nothing else may reach a listener that believes its headers.</summary>
    internal static EdgeListen? Listen(string url, string key, ConfigErrors errors)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/" || uri.Query.Length != 0 || uri.UserInfo.Length != 0)
        {
            errors.Add(key, $"'{url}' is not a plain-HTTP listen URL; expected http://127.0.0.1:PORT (or http://[::1]:PORT, http://localhost:PORT).");
            return null;
        }

        if (uri.IsDefaultPort && !url.Contains($":{uri.Port}", StringComparison.Ordinal))
        {
            errors.Add(key, $"'{url}' has no port; give one explicitly (0 picks a free one).");
            return null;
        }

        if (uri.HostNameType == UriHostNameType.Dns)
        {
            if (!uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(key, $"'{url}' is not a loopback address: an edge listener believes the certificate headers of whoever connects, so it is accepted only on 127.0.0.1, ::1 or localhost.");
                return null;
            }

            return new EdgeListen(url, null, uri.Port);
        }

        if (!IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) || !IPAddress.IsLoopback(address) || address.IsIPv4MappedToIPv6)
        {
            errors.Add(key, $"'{url}' is not a loopback address: an edge listener believes the certificate headers of whoever connects, so it is accepted only on 127.0.0.1, ::1 or localhost.");
            return null;
        }

        return new EdgeListen(url, address, uri.Port);
    }

    private static X509Certificate2? LoadCertificate(string path, string baseDirectory, string key, ConfigErrors errors)
    {
        var file = ConfigCompiler.ResolvePath(baseDirectory, path);
        if (!File.Exists(file))
        {
            errors.Add(key, $"file '{file}' does not exist.");
            return null;
        }

        try
        {
            var bytes = File.ReadAllBytes(file);
            if (bytes.AsSpan().IndexOf("-----BEGIN"u8) >= 0)
            {
                var collection = new X509Certificate2Collection();
                collection.ImportFromPem(System.Text.Encoding.ASCII.GetString(bytes));
                if (collection.Count == 0)
                {
                    errors.Add(key, $"'{file}' holds no PEM certificate.");
                    return null;
                }

                return collection[0];
            }

            return X509CertificateLoader.LoadCertificate(bytes);
        }
        catch (CryptographicException ex)
        {
            errors.Add(key, $"'{file}' is not a certificate (PEM or DER): {ex.Message}");
            return null;
        }
    }

    private static void CheckListenersDistinct(List<Edge> edges, ConfigErrors errors)
    {
        foreach (var group in edges.Where(e => e.Listen is { Port: > 0 }).GroupBy(e => (e.Listen!.Address?.ToString() ?? "localhost", e.Listen!.Port)))
        {
            foreach (var edge in group.Skip(1))
            {
                errors.Add($"MtlsGate:Edges:{edge.Name}:Listen", $"'{edge.Listen!.Url}' is also MtlsGate:Edges:{group.First().Name}:Listen: a listener belongs to one edge.");
            }
        }
    }

    /// <summary>Two address-only edges whose networks overlap: a connection from the overlap would be either. Networks overlap when one contains the other's base address.</summary>
    private static void CheckAddressEdgesDisjoint(List<Edge> edges, ConfigErrors errors)
    {
        var addressOnly = edges.Where(e => e.OnGatewayListener && e.PinnedCertificates.Count == 0).ToList();
        for (var i = 0; i < addressOnly.Count; i++)
        {
            for (var j = i + 1; j < addressOnly.Count; j++)
            {
                var overlap = addressOnly[i].TrustedProxies.Any(a => addressOnly[j].TrustedProxies.Any(b => a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress)));
                if (overlap)
                {
                    errors.Add($"MtlsGate:Edges:{addressOnly[j].Name}:TrustedProxies", $"overlaps MtlsGate:Edges:{addressOnly[i].Name}:TrustedProxies: a connection from the overlap would be either edge.");
                }
            }
        }
    }
}
