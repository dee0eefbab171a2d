using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using MtlsGate.Text;
using MtlsGate.Tls;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Cli;

/// <summary>One certificate the CA issued, as recorded in <c>issued.json</c>.</summary>
public sealed record IssuedCertificate(string Name, string Serial, string Sha256, DateTimeOffset NotAfter, DateTimeOffset IssuedAt, DateTimeOffset? RevokedAt);

/// <summary>What the CA folder records: every issued certificate and the CRL number.</summary>
public sealed record IssuedRecord(List<IssuedCertificate> Certificates, long CrlNumber);

/// <summary>
/// The folder <c>mtlsgate init</c> makes: <c>ca.pem</c>, <c>ca.key</c> (created 0600), <c>ca.crl</c>,
/// <c>issued.json</c>, <c>server.pem</c>/<c>server.key</c> and <c>appsettings.json</c>.
/// Every write is atomic (temporary file + rename) so a running gateway never reads half a file.
/// </summary>
public sealed class CaFolder(string directory)
{
    public const string CaFile = "ca.pem";
    public const string CaKeyFile = "ca.key";
    public const string CrlFile = "ca.crl";
    public const string IssuedFile = "issued.json";

    /// <summary>The CRL is re-signed by every issue/revoke; it stays valid this long without one.</summary>
    public static readonly TimeSpan CrlLifetime = TimeSpan.FromDays(365);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Directory { get; } = Path.GetFullPath(directory);

    public string PathOf(string file) => Path.Combine(Directory, file);

    public bool Exists => File.Exists(PathOf(CaKeyFile)) && File.Exists(PathOf(CaFile));

    public X509Certificate2 LoadCa() => X509Certificate2.CreateFromPemFile(PathOf(CaFile), PathOf(CaKeyFile));

    public IssuedRecord LoadRecord() =>
        File.Exists(PathOf(IssuedFile))
            ? JsonSerializer.Deserialize<IssuedRecord>(File.ReadAllText(PathOf(IssuedFile)), Json) ?? new IssuedRecord([], 0)
            : new IssuedRecord([], 0);

    public void SaveRecord(IssuedRecord record) => WriteAtomic(IssuedFile, JsonSerializer.SerializeToUtf8Bytes(record, Json));

    /// <summary>Signs a new CRL listing every revoked serial, with the next CRL number.</summary>
    public IssuedRecord WriteCrl(X509Certificate2 ca, IssuedRecord record)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(record);
        var builder = new CertificateRevocationListBuilder();
        foreach (var revoked in record.Certificates.Where(c => c.RevokedAt is not null))
        {
            builder.AddEntry(Convert.FromHexString(revoked.Serial), revoked.RevokedAt!.Value);
        }

        var next = record with { CrlNumber = record.CrlNumber + 1 };
        var now = DateTimeOffset.UtcNow;
        var der = builder.Build(ca, new BigInteger(next.CrlNumber), now + CrlLifetime, HashAlgorithmName.SHA256,
            ca.GetRSAPrivateKey() is null ? null : RSASignaturePadding.Pkcs1, now.AddMinutes(-5));
        WriteAtomic(CrlFile, System.Text.Encoding.ASCII.GetBytes(PemEncoding.WriteString("X509 CRL", der) + "\n"));
        return next;
    }

    /// <summary>
    /// Atomic write (temporary file + rename). A <paramref name="secret"/> (a private key) goes through
    /// <see cref="PrivateFile"/>: created 0600 at open time, never chmodded afterwards.
    /// </summary>
    public void WriteAtomic(string file, byte[] content, bool secret = false)
    {
        var path = PathOf(file);
        if (secret)
        {
            PrivateFile.Write(path, content);
            return;
        }

        var temporary = path + ".tmp-" + Environment.ProcessId;
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public void WriteAtomic(string file, string content, bool secret = false) =>
        WriteAtomic(file, System.Text.Encoding.UTF8.GetBytes(content), secret);

    /// <summary>Serial as upper-case hex without leading zeros (matches CRL parsing).</summary>
    public static string SerialOf(X509Certificate2 certificate) =>
        SerialNumber.Normalize((certificate ?? throw new ArgumentNullException(nameof(certificate))).SerialNumberBytes.Span);
}
