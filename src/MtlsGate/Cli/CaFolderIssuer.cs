using MtlsGate.Devices;
using MtlsGate.Tls;

namespace MtlsGate.Cli;

/// <summary>
/// Enrolment's certificates come from the CA folder exactly as <c>client issue</c>'s do (one code path,
/// <see cref="ClientCommands.IssueRecorded"/>): recorded in <c>issued.json</c>, so <c>client list</c>
/// shows them and <c>client revoke</c> can put them on the CRL.
/// </summary>
public sealed class CaFolderIssuer : IDeviceCertificateIssuer
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

        lock (IssueLock)
        {
            var (leaf, chain, issued) = ClientCommands.IssueRecorded(folder, name, Days);
            using (leaf)
            using (chain[0])
            {
                return new IssuedDevice(issued.Sha256, issued.Serial, issued.NotAfter, Pki.ExportPkcs12(leaf, chain, password, compatible));
            }
        }
    }

    // issued.json is read, changed and written back: one issue at a time in this process.
    private static readonly Lock IssueLock = new();
}
