using System.Globalization;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Text;

namespace MtlsGate.Proxy;

/// <summary>The identity headers the backend receives, computed once per connection and identity.</summary>
public static class IdentityHeaders
{
    public const string Verify = "X-Client-Cert-Verify";
    public const string Subject = "X-Client-Cert-Subject";
    public const string Issuer = "X-Client-Cert-Issuer";
    public const string Sha256 = "X-Client-Cert-Sha256";
    public const string NotAfter = "X-Client-Cert-Not-After";
    public const string ClientCert = "Client-Cert";
    public const string ClientCertChain = "Client-Cert-Chain";
    public const string Serial = "X-Client-Cert-Serial";
    public const string Xfcc = "X-Forwarded-Client-Cert";

    /// <summary>Sent only for a certificate an edge forwarded (<c>MtlsGate:Edges</c>): the edge's name. Clients cannot set it (the <c>X-Client-Cert</c> prefix is stripped).</summary>
    public const string Source = "X-Client-Cert-Source";

    public static KeyValuePair<string, string>[] For(ClientIdentity identity, IdentityHeaderFormat format, System.Security.Cryptography.X509Certificates.X509Certificate2Collection? presentedChain = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (format == IdentityHeaderFormat.None)
        {
            return [];
        }

        var headers = ForFormat(identity, format, identity.ForwardedChain ?? presentedChain);
        // A forwarded identity says which edge vouched for the connection it came over.
        return identity.IsForwarded ? [.. headers, new(Source, identity.Source)] : headers;
    }

    private static KeyValuePair<string, string>[] ForFormat(ClientIdentity identity, IdentityHeaderFormat format, System.Security.Cryptography.X509Certificates.X509Certificate2Collection? presentedChain)
    {

        if (!identity.IsValid)
        {
            // Public paths and log-only mode forward requests without a valid certificate: say so, nothing more.
            return format == IdentityHeaderFormat.Individual
                ? [new(Verify, identity.Certificate is null ? "NONE" : "FAILED")]
                : [];
        }

        if (format == IdentityHeaderFormat.Rfc9440)
        {
            // RFC 9440: Structured Field byte sequences, base64 of DER; the chain lists the intermediates the client sent.
            var cert = new KeyValuePair<string, string>(ClientCert, ":" + Convert.ToBase64String(identity.Certificate!.RawData) + ":");
            return presentedChain is { Count: > 0 }
                ? [cert, new(ClientCertChain, string.Join(", ", presentedChain.Select(c => ":" + Convert.ToBase64String(c.RawData) + ":")))]
                : [cert];
        }

        if (format == IdentityHeaderFormat.Xfcc)
        {
            // Envoy's format: key=value pairs separated by ';', values quoted and escaped, then made header-safe.
            var names = identity.Names;
            var parts = new List<string> { "Hash=" + identity.Sha256Fingerprint, "Subject=" + Quote(identity.Subject) };
            parts.AddRange(names.Uris.Select(u => "URI=" + Quote(u)));
            parts.AddRange(names.DnsNames.Select(d => "DNS=" + Quote(d)));
            return [new(Xfcc, HeaderEncoding.Encode(string.Join(";", parts)))];
        }

        return
        [
            new(Verify, "SUCCESS"),
            new(Subject, identity.EncodedSubject),
            new(Issuer, HeaderEncoding.Encode(identity.Issuer)),
            new(Sha256, identity.Sha256Fingerprint),
            new(Serial, identity.Names.SerialHex),
            new(NotAfter, identity.NotAfter.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>Envoy-style quoting: wrap in quotes, escape backslash and quote.</summary>
    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
