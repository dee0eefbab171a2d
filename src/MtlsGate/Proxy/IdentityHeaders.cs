using System.Globalization;
using MtlsGate.Configuration;
using MtlsGate.Policy;

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

    public static KeyValuePair<string, string>[] For(ClientIdentity identity, IdentityHeaderFormat format)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (format == IdentityHeaderFormat.None)
        {
            return [];
        }

        if (!identity.IsValid)
        {
            // Public paths and log-only mode forward requests without a valid certificate: say so, nothing more.
            return format == IdentityHeaderFormat.Individual
                ? [new(Verify, identity.Certificate is null ? "NONE" : "FAILED")]
                : [];
        }

        if (format == IdentityHeaderFormat.Rfc9440)
        {
            // RFC 9440: a Structured Field byte sequence, base64 of the DER certificate.
            return [new(ClientCert, ":" + Convert.ToBase64String(identity.Certificate!.RawData) + ":")];
        }

        return
        [
            new(Verify, "SUCCESS"),
            new(Subject, HeaderEncoding.Encode(identity.Subject)),
            new(Issuer, HeaderEncoding.Encode(identity.Issuer)),
            new(Sha256, identity.Sha256Fingerprint),
            new(NotAfter, identity.NotAfter.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
        ];
    }
}
