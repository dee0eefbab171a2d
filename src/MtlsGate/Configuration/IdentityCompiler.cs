using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Policy;

namespace MtlsGate.Configuration;

/// <summary>Values shared by several sections: identity allow-lists, SHA-256 fingerprints, networks.</summary>
public static class IdentityCompiler
{
    /// <summary>An allow-list (any-of). An empty entry is refused: it is never what was meant.</summary>
    public static IdentityMatcher Identities(IdentitiesSection section, string key, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        var lists = new (List<string> Values, string Name)[]
        {
            (section.SubjectCommonNames, nameof(section.SubjectCommonNames)), (section.Organizations, nameof(section.Organizations)),
            (section.OrganizationalUnits, nameof(section.OrganizationalUnits)), (section.DnsNames, nameof(section.DnsNames)),
            (section.Emails, nameof(section.Emails)), (section.Uris, nameof(section.Uris)), (section.UriPrefixes, nameof(section.UriPrefixes)),
        };
        foreach (var (values, name) in lists)
        {
            for (var i = 0; i < values.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(values[i]))
                {
                    errors.Add($"{key}:{name}:{i}", "empty entry (an allow-list entry must name something).");
                }
            }
        }

        var fingerprints = Fingerprints(section.Fingerprints, $"{key}:Fingerprints", errors);
        var pins = new List<string>();
        foreach (var pin in section.SpkiPins)
        {
            var value = pin.StartsWith("sha256/", StringComparison.Ordinal) ? pin["sha256/".Length..] : pin;
            var isHex = value.Length == 64 && value.All(char.IsAsciiHexDigit);
            var isBase64 = value.Length == 44 && Convert.TryFromBase64String(value, new byte[32], out var written) && written == 32;
            if (!isHex && !isBase64)
            {
                errors.Add($"{key}:SpkiPins", $"'{pin}' is not a SHA-256 SPKI pin (base64 of 32 bytes, as in 'openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64', or 64 hex digits).");
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
                errors.Add($"{key}:Issuers", $"'{issuer}' is not a distinguished name (e.g. CN=Home CA, O=Home).");
            }
        }

        return new IdentityMatcher(section.SubjectCommonNames, section.Organizations, section.OrganizationalUnits, section.DnsNames,
            section.Emails, section.Uris, section.UriPrefixes, issuers, fingerprints, pins);
    }

    /// <summary>True when no identity field lists anything (<c>Methods</c> aside).</summary>
    public static bool NamesNobody(IdentitiesSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return section.SubjectCommonNames.Count + section.Organizations.Count + section.OrganizationalUnits.Count + section.DnsNames.Count
            + section.Emails.Count + section.Uris.Count + section.UriPrefixes.Count + section.Issuers.Count + section.Fingerprints.Count + section.SpkiPins.Count == 0;
    }

    /// <summary>SHA-256 fingerprints as lower-case hex (colons and case allowed in configuration).</summary>
    public static List<string> Fingerprints(List<string> values, string key, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(errors);
        var fingerprints = new List<string>();
        for (var i = 0; i < values.Count; i++)
        {
            var hex = values[i].Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
            if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            {
                errors.Add($"{key}:{i}", $"'{values[i]}' is not a SHA-256 fingerprint (64 hex digits).");
                continue;
            }

            fingerprints.Add(hex);
        }

        return fingerprints;
    }

    /// <summary>CIDR networks (a single address is its own /32 or /128).</summary>
    public static List<IPNetwork> Networks(List<string> values, string key, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(errors);
        var networks = new List<IPNetwork>();
        foreach (var value in values)
        {
            var text = value.Contains('/', StringComparison.Ordinal) ? value : IPAddress.TryParse(value, out var single)
                ? $"{value}/{(single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)}"
                : value;
            if (IPNetwork.TryParse(text, out var network))
            {
                networks.Add(network);
            }
            else
            {
                errors.Add(key, $"'{value}' is not a network in CIDR notation (e.g. 192.168.1.0/24, fd00::/8) or an IP address.");
            }
        }

        return networks;
    }
}
