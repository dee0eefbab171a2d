using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tls;

/// <summary>
/// What an edge's headers said about the client's certificate: nothing (<see cref="Absent"/>), a leaf
/// with the intermediates it forwarded, or a <see cref="Problem"/> (a denial reason's explanation,
/// never an exception).
/// </summary>
public sealed record ForwardedCertificate(X509Certificate2? Leaf, X509Certificate2Collection? Chain, string? Problem)
{
    public static readonly ForwardedCertificate Absent = new(null, null, null);

    public static ForwardedCertificate Invalid(string problem) => new(null, null, problem);

    public bool IsInvalid => Problem is not null;
}

/// <summary>
/// Reads forwarded client certificates. Pure (strings in, certificates out) and bounded: each header
/// value is capped in characters before it is decoded, a chain in members before any is decoded, and
/// every certificate must be exactly one DER SEQUENCE (no trailing bytes) before the platform parses
/// it. Anything else is a <see cref="ForwardedCertificate.Problem"/>: the request is denied with
/// <c>ForwardedCertificateInvalid</c>, and no exception leaves this class.
/// </summary>
public static class ForwardedCertificateReader
{
    /// <summary>Characters of the leaf's header value. Cloudflare's own cap for the encoded leaf is 10 KiB.</summary>
    public const int MaxCertificateChars = 16 * 1024;

    /// <summary>Characters of the chain's header value. Cloudflare caps the encoded chain at 16 KiB.</summary>
    public const int MaxChainChars = 32 * 1024;

    /// <summary>Intermediates accepted with a leaf (a real chain has one or two).</summary>
    public const int MaxChainLength = 10;

    /// <summary>RFC 9440 §2.2: the leaf as an RFC 8941 byte sequence.</summary>
    public const string ClientCert = "Client-Cert";

    /// <summary>RFC 9440 §2.3: the intermediates, a list of byte sequences, nearest the leaf first.</summary>
    public const string ClientCertChain = "Client-Cert-Chain";

    /// <summary>Envoy's header (envoyproxy.io, "x-forwarded-client-cert").</summary>
    public const string Xfcc = "X-Forwarded-Client-Cert";

    /// <summary>Cloudflare Access's certificate forwarding header (base64 DER, leaf only).</summary>
    public const string CloudflareDerBase64 = "Cf-Client-Cert-Der-Base64";

    /// <summary>The header names an edge of <paramref name="format"/> writes (the leaf's, then the chain's or null).</summary>
    public static (string Certificate, string? Chain) HeaderNames(EdgeFormat format) => format switch
    {
        EdgeFormat.Rfc9440 => (ClientCert, ClientCertChain),
        EdgeFormat.Xfcc => (Xfcc, null),
        _ => (CloudflareDerBase64, null),
    };

    /// <summary>
    /// Reads the certificate an edge forwarded. <paramref name="certificate"/> is the leaf header's
    /// value (null when absent; several field lines joined with commas, as HTTP combines them), and
    /// <paramref name="chain"/> the chain header's (RFC 9440 only).
    /// </summary>
    public static ForwardedCertificate Read(EdgeFormat format, string? certificate, string? chain)
    {
        if (string.IsNullOrWhiteSpace(certificate))
        {
            // Cloudflare's fields are "" when the client sent no certificate; a chain alone is no certificate.
            return ForwardedCertificate.Absent;
        }

        if (certificate.Length > MaxCertificateChars)
        {
            return ForwardedCertificate.Invalid($"{HeaderNames(format).Certificate} is {certificate.Length} characters, over the {MaxCertificateChars} cap");
        }

        return format switch
        {
            EdgeFormat.Rfc9440 => ReadRfc9440(certificate, chain),
            EdgeFormat.Xfcc => ReadXfcc(certificate),
            _ => ReadCloudflare(certificate),
        };
    }

    /// <summary>Writes <paramref name="leaf"/> (and <paramref name="chain"/>) the way an edge of <paramref name="format"/> would: <c>verify --forwarded</c> reads it back.</summary>
    public static (string Certificate, string? Chain) Write(EdgeFormat format, X509Certificate2 leaf, IReadOnlyList<X509Certificate2>? chain)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        chain ??= [];
        return format switch
        {
            EdgeFormat.Rfc9440 => (ByteSequence(leaf), chain.Count == 0 ? null : string.Join(", ", chain.Select(ByteSequence))),
            EdgeFormat.Xfcc => ("Hash=" + Text.Fingerprint.Sha256(leaf) + ";Cert=\"" + Uri.EscapeDataString(leaf.ExportCertificatePem()) + "\""
                + (chain.Count == 0 ? "" : ";Chain=\"" + Uri.EscapeDataString(string.Concat(new[] { leaf }.Concat(chain).Select(c => c.ExportCertificatePem() + "\n"))) + "\""), null),
            _ => (Convert.ToBase64String(leaf.RawData), null),
        };

        static string ByteSequence(X509Certificate2 certificate) => ":" + Convert.ToBase64String(certificate.RawData) + ":";
    }

    private static ForwardedCertificate ReadRfc9440(string certificate, string? chain)
    {
        if (!TryByteSequence(certificate.AsSpan(), out var der, out var problem))
        {
            return ForwardedCertificate.Invalid($"{ClientCert}: {problem}");
        }

        if (!TryLoad(der, out var leaf, out problem))
        {
            return ForwardedCertificate.Invalid($"{ClientCert}: {problem}");
        }

        if (string.IsNullOrWhiteSpace(chain))
        {
            return new ForwardedCertificate(leaf, null, null);
        }

        if (chain.Length > MaxChainChars)
        {
            leaf.Dispose();
            return ForwardedCertificate.Invalid($"{ClientCertChain} is {chain.Length} characters, over the {MaxChainChars} cap");
        }

        // Count the members before decoding any of them.
        var members = chain.Split(',', StringSplitOptions.TrimEntries);
        if (members.Length > MaxChainLength)
        {
            leaf.Dispose();
            return ForwardedCertificate.Invalid($"{ClientCertChain} has {members.Length} certificates, over the {MaxChainLength} cap");
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 0; i < members.Length; i++)
        {
            if (!TryByteSequence(members[i].AsSpan(), out var memberDer, out problem) || !TryLoad(memberDer, out var member, out problem))
            {
                leaf.Dispose();
                DisposeAll(intermediates);
                return ForwardedCertificate.Invalid($"{ClientCertChain} member {i + 1}: {problem}");
            }

            intermediates.Add(member);
        }

        return new ForwardedCertificate(leaf, intermediates, null);
    }

    private static ForwardedCertificate ReadCloudflare(string certificate)
    {
        var text = certificate.AsSpan().Trim(" \t");
        if (!TryBase64(text, out var der))
        {
            return ForwardedCertificate.Invalid($"{CloudflareDerBase64}: not base64");
        }

        return TryLoad(der, out var leaf, out var problem)
            ? new ForwardedCertificate(leaf, null, null)
            : ForwardedCertificate.Invalid($"{CloudflareDerBase64}: {problem}");
    }

    /// <summary>
    /// Envoy's XFCC: elements separated by commas, each <c>Key=Value</c> pairs separated by semicolons,
    /// values optionally quoted (<c>\"</c> escapes a quote). The last element is the nearest proxy's.
    /// </summary>
    private static ForwardedCertificate ReadXfcc(string header)
    {
        var elements = SplitOutsideQuotes(header, ',');
        if (elements is null)
        {
            return ForwardedCertificate.Invalid($"{Xfcc}: unbalanced quotes");
        }

        string? cert = null;
        string? chain = null;
        var pairs = SplitOutsideQuotes(elements[^1], ';') ?? [];
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var key = pair[..equals].Trim();
            var value = Unquote(pair[(equals + 1)..].Trim());
            if (key.Equals("Cert", StringComparison.OrdinalIgnoreCase))
            {
                cert = value;
            }
            else if (key.Equals("Chain", StringComparison.OrdinalIgnoreCase))
            {
                chain = value;
            }
        }

        if (cert is null)
        {
            // Hash/Subject/URI only: the edge did not forward the certificate itself.
            return chain is null ? ForwardedCertificate.Invalid($"{Xfcc}: no Cert= (configure the edge to forward the certificate, not only its hash)") : ReadPemChain(chain, leafFromChain: true);
        }

        var leafPem = UrlDecode(cert);
        if (leafPem is null || !TryPem(leafPem, out var der) || !TryLoad(der, out var leaf, out _))
        {
            return ForwardedCertificate.Invalid($"{Xfcc}: Cert= is not a URL-encoded PEM certificate");
        }

        if (chain is null)
        {
            return new ForwardedCertificate(leaf, null, null);
        }

        var rest = ReadPemChain(chain, leafFromChain: false);
        if (rest.IsInvalid)
        {
            leaf.Dispose();
            return rest;
        }

        // Envoy's Chain= starts with the leaf itself: keep only the intermediates.
        var intermediates = new X509Certificate2Collection();
        foreach (var member in rest.Chain!)
        {
            if (member.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
            {
                member.Dispose();
            }
            else
            {
                intermediates.Add(member);
            }
        }

        return new ForwardedCertificate(leaf, intermediates, null);
    }

    private static ForwardedCertificate ReadPemChain(string encoded, bool leafFromChain)
    {
        if (encoded.Length > MaxChainChars)
        {
            return ForwardedCertificate.Invalid($"{Xfcc}: Chain= is {encoded.Length} characters, over the {MaxChainChars} cap");
        }

        var pem = UrlDecode(encoded);
        if (pem is null)
        {
            return ForwardedCertificate.Invalid($"{Xfcc}: Chain= is not URL-encoded PEM");
        }

        var certificates = new X509Certificate2Collection();
        var remaining = pem.AsSpan();
        while (PemEncoding.TryFind(remaining, out var fields))
        {
            if (certificates.Count > MaxChainLength)
            {
                DisposeAll(certificates);
                return ForwardedCertificate.Invalid($"{Xfcc}: Chain= has more than {MaxChainLength + 1} certificates");
            }

            if (!remaining[fields.Label].SequenceEqual("CERTIFICATE") || !TryPemData(remaining, fields, out var der) || !TryLoad(der, out var member, out _))
            {
                DisposeAll(certificates);
                return ForwardedCertificate.Invalid($"{Xfcc}: Chain= member {certificates.Count + 1} is not a PEM certificate");
            }

            certificates.Add(member);
            remaining = remaining[fields.Location.End.Value..];
        }

        if (certificates.Count == 0)
        {
            return ForwardedCertificate.Invalid($"{Xfcc}: Chain= holds no PEM certificate");
        }

        if (!leafFromChain)
        {
            return new ForwardedCertificate(null, certificates, null);
        }

        var leaf = certificates[0];
        certificates.RemoveAt(0);
        return new ForwardedCertificate(leaf, certificates, null);
    }

    /// <summary>RFC 8941 §3.3.5: <c>":" *(base64) ":"</c>, surrounded by optional whitespace.</summary>
    private static bool TryByteSequence(ReadOnlySpan<char> value, out byte[] der, out string problem)
    {
        der = [];
        value = value.Trim(" \t");
        if (value.Length < 2 || value[0] != ':' || value[^1] != ':')
        {
            problem = "not an RFC 8941 byte sequence (:BASE64:)";
            return false;
        }

        if (!TryBase64(value[1..^1], out der))
        {
            problem = "not base64";
            return false;
        }

        problem = "";
        return true;
    }

    /// <summary>Standard base64; missing padding is accepted (RFC 8941 §4.2.7 asks parsers not to fail on it).</summary>
    private static bool TryBase64(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (text.IsEmpty)
        {
            return false;
        }

        var padded = (text.Length % 4) switch
        {
            0 => text.ToString(),
            2 => string.Concat(text, "=="),
            3 => string.Concat(text, "="),
            _ => null,
        };
        if (padded is null)
        {
            return false;
        }

        var buffer = new byte[padded.Length / 4 * 3];
        if (!Convert.TryFromBase64String(padded, buffer, out var written))
        {
            return false;
        }

        bytes = buffer.AsSpan(0, written).ToArray();
        return true;
    }

    private static bool TryPem(string pem, out byte[] der)
    {
        der = [];
        var span = pem.AsSpan();
        return PemEncoding.TryFind(span, out var fields) && span[fields.Label].SequenceEqual("CERTIFICATE") && TryPemData(span, fields, out der);
    }

    /// <summary>PEM's base64 (line breaks allowed; PemEncoding already checked it and knows its decoded length).</summary>
    private static bool TryPemData(ReadOnlySpan<char> pem, PemFields fields, out byte[] der)
    {
        der = new byte[fields.DecodedDataLength];
        return Convert.TryFromBase64Chars(pem[fields.Base64Data], der, out var written) && written == der.Length;
    }

    /// <summary>Exactly one DER SEQUENCE (checked before the platform parses it), then an X.509 certificate.</summary>
    private static bool TryLoad(byte[] der, out X509Certificate2 certificate, out string problem)
    {
        certificate = null!;
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            var tag = reader.PeekTag();
            if (tag != Asn1Tag.Sequence)
            {
                problem = "not a DER certificate (no SEQUENCE)";
                return false;
            }

            reader.ReadEncodedValue();
            reader.ThrowIfNotEmpty();
            certificate = X509CertificateLoader.LoadCertificate(der);
            problem = "";
            return true;
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            problem = "not a DER certificate (truncated or malformed)";
            return false;
        }
    }

    private static string? UrlDecode(string value)
    {
        try
        {
            return Uri.UnescapeDataString(value);
        }
        catch (UriFormatException)
        {
            return null;
        }
    }

    private static string Unquote(string value)
    {
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            return value[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
        }

        return value;
    }

    /// <summary>Splits on <paramref name="separator"/> outside double quotes; null when a quote is left open.</summary>
    private static List<string>? SplitOutsideQuotes(string value, char separator)
    {
        var parts = new List<string>();
        var quoted = false;
        var start = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\\' && quoted)
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == separator && !quoted)
            {
                parts.Add(value[start..i]);
                start = i + 1;
            }
        }

        if (quoted)
        {
            return null;
        }

        parts.Add(value[start..]);
        return parts;
    }

    private static void DisposeAll(X509Certificate2Collection certificates)
    {
        foreach (var certificate in certificates)
        {
            certificate.Dispose();
        }
    }
}
