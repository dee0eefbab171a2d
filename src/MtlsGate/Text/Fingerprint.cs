using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Text;

/// <summary>The one way a certificate's fingerprint is written: SHA-256 of its DER, lower-case hex.</summary>
public static class Fingerprint
{
    public static string Sha256(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256));
    }
}
