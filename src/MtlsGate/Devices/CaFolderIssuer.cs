using MtlsGate.Tls;

namespace MtlsGate.Devices;

/// <summary>
/// Enrolment's certificates come from the CA folder exactly as <c>client issue</c>'s do (one code path,
/// <see cref="CaFolder.IssueClient"/>): recorded in <c>issued.json</c>, so <c>client list</c> shows them
/// and <c>client revoke</c> (or revoke on the admin page) puts them on the CRL. The PKCS#12 holds the key,
/// the leaf first, then the CA certificate (<see cref="Pki.ExportPkcs12"/>).
/// </summary>
public sealed class CaFolderIssuer(TimeProvider time) : IDeviceCertificateIssuer
{
    /// <summary>Days an enrolled device's certificate is valid (as <c>client issue</c>'s default).</summary>
    public const int Days = 365;

    public IssuedDevice Issue(string caFolder, string name, string password, bool compatible)
    {
        var folder = new CaFolder(caFolder);
        if (!folder.Exists)
        {
            throw new InvalidOperationException($"No CA in '{folder.Directory}' (expected {CaFolder.CaFile} and {CaFolder.CaKeyFile}).");
        }

        var (leaf, issued) = folder.IssueClient(name, Days, time.GetUtcNow());
        using (leaf)
        using (var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(folder.PathOf(CaFolder.CaFile)))
        {
            return new IssuedDevice(issued.Sha256, issued.Serial, issued.NotAfter, Pki.ExportPkcs12(leaf, [ca], password, compatible));
        }
    }
}
