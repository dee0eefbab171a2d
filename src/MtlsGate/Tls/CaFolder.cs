using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using MtlsGate.Text;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tls;

/// <summary>One certificate the CA issued, as recorded in <c>issued.json</c>.</summary>
public sealed record IssuedCertificate(string Name, string Serial, string Sha256, DateTimeOffset NotAfter, DateTimeOffset IssuedAt, DateTimeOffset? RevokedAt);

/// <summary>What <see cref="CaFolder.RevokeCertificate"/> did.</summary>
public enum CaRevocation
{
    /// <summary>Listed in a newly signed CRL.</summary>
    Revoked,
    /// <summary>Already listed; the CRL is untouched.</summary>
    AlreadyRevoked,
    /// <summary>Not a certificate of this CA: no CRL change (the inventory's status still denies it).</summary>
    OtherIssuer,
}

/// <summary>What the CA folder records: every issued certificate and the CRL number.</summary>
public sealed record IssuedRecord(List<IssuedCertificate> Certificates, long CrlNumber);

/// <summary>
/// The folder <c>mtlsgate init</c> makes: <c>ca.pem</c>, <c>ca.key</c> (created 0600), <c>ca.crl</c>,
/// <c>issued.json</c>, <c>server.pem</c>/<c>server.key</c> and <c>appsettings.json</c>.
/// Every write is atomic (temporary file + rename) so a running gateway never reads half a file.
/// It sits on the Tls floor because the CLI (<c>client issue/revoke</c>) and the running gateway
/// (revoke from the inventory, enrolment) share this one implementation; a read-modify-write of
/// <c>issued.json</c> and the CRL holds <see cref="Lock"/> so the two never interleave.
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
    /// <see cref="PrivateDirectory.WriteAtomic"/>: created 0600 at open time, never chmodded afterwards.
    /// </summary>
    public void WriteAtomic(string file, byte[] content, bool secret = false)
    {
        var path = PathOf(file);
        if (secret)
        {
            PrivateDirectory.WriteAtomic(path, content);
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

    /// <summary>The lock file beside <c>issued.json</c> (see <see cref="Lock"/>).</summary>
    public const string LockFile = ".issued.lock";

    /// <summary>
    /// Holds the folder's lock until disposed: an exclusive open of <see cref="LockFile"/> (.NET takes an
    /// advisory flock(2) for <see cref="FileShare.None"/> on Unix, so it excludes other processes and
    /// other opens in this one). Retries for up to <paramref name="timeout"/> (default 10 s), then throws
    /// <see cref="IOException"/>.
    /// </summary>
    public IDisposable Lock(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                return new FileStream(PathOf(LockFile), options);
            }
            catch (IOException) when (DateTime.UtcNow < deadline && File.Exists(PathOf(LockFile)))
            {
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>
    /// Issues a client certificate <c>CN=NAME, O=MtlsGate devices</c> valid <paramref name="days"/> days,
    /// records it in <c>issued.json</c> and re-signs the CRL (a new CRL number on every change, as the
    /// CLI always did). The returned certificate carries its private key; the caller exports and disposes it.
    /// </summary>
    public (X509Certificate2 Leaf, IssuedCertificate Issued) IssueClient(string name, int days, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(name);
        using var folderLock = Lock();
        using var ca = LoadCa();
        var leaf = Pki.Issue(ca, $"CN={name}, O=MtlsGate devices", new IssueOptions
        {
            NotAfter = now.AddDays(days),
            Rsa = ca.GetRSAPrivateKey() is not null,
        });
        var issued = new IssuedCertificate(name, SerialOf(leaf), Fingerprint.Sha256(leaf),
            new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero), now, null);
        var record = LoadRecord();
        record.Certificates.Add(issued);
        SaveRecord(WriteCrl(ca, record));
        return (leaf, issued);
    }

    /// <summary>
    /// Revokes every unrevoked certificate of <c>issued.json</c> named <paramref name="nameOrSerial"/> or
    /// with that serial (hex, colons allowed) and re-signs the CRL; returns what was revoked (empty: nothing
    /// matched, the CRL is untouched). <c>mtlsgate client revoke</c>.
    /// </summary>
    public IReadOnlyList<IssuedCertificate> Revoke(string nameOrSerial, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(nameOrSerial);
        var serial = TryNormalizeSerial(nameOrSerial);
        return RevokeWhere(c => string.Equals(c.Name, nameOrSerial, StringComparison.Ordinal) || (serial is not null && c.Serial == serial), null, now);
    }

    /// <summary>
    /// Revokes one certificate the gateway saw (the inventory's revoke): the entry of <c>issued.json</c> with
    /// this SHA-256; a certificate of this CA the folder has no record of (<paramref name="issuer"/> equal to
    /// the CA's subject) is added to <c>issued.json</c> as revoked, named <paramref name="name"/>, so the CRL
    /// lists its serial. A certificate of another CA is not this CRL's to list.
    /// </summary>
    public CaRevocation RevokeCertificate(string sha256, string serial, string issuer, string name, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        ArgumentNullException.ThrowIfNull(issuer);
        using var folderLock = Lock();
        var record = LoadRecord();
        var known = record.Certificates.Where(c => string.Equals(c.Sha256, sha256, StringComparison.OrdinalIgnoreCase)).ToList();
        if (known.Count != 0 && known.All(c => c.RevokedAt is not null))
        {
            return CaRevocation.AlreadyRevoked;
        }

        using var ca = LoadCa();
        if (known.Count == 0)
        {
            if (!string.Equals(ca.Subject, issuer, StringComparison.Ordinal) || TryNormalizeSerial(serial) is not { } normalized)
            {
                return CaRevocation.OtherIssuer;
            }

            record.Certificates.Add(new IssuedCertificate(name, normalized, sha256.ToLowerInvariant(), DateTimeOffset.MinValue, now, now));
            SaveRecord(WriteCrl(ca, record));
            return CaRevocation.Revoked;
        }

        var certificates = record.Certificates.Select(c => known.Contains(c) && c.RevokedAt is null ? c with { RevokedAt = now } : c).ToList();
        SaveRecord(WriteCrl(ca, record with { Certificates = certificates }));
        return CaRevocation.Revoked;
    }

    private List<IssuedCertificate> RevokeWhere(Func<IssuedCertificate, bool> match, X509Certificate2? ca, DateTimeOffset now)
    {
        using var folderLock = Lock();
        var record = LoadRecord();
        var matches = record.Certificates.Where(c => c.RevokedAt is null && match(c)).ToList();
        if (matches.Count == 0)
        {
            return matches;
        }

        var certificates = record.Certificates.Select(c => matches.Contains(c) ? c with { RevokedAt = now } : c).ToList();
        using var owned = ca is null ? LoadCa() : null;
        SaveRecord(WriteCrl(ca ?? owned!, record with { Certificates = certificates }));
        return matches;
    }

    /// <summary>A serial in hex (colons allowed), normalized; null when it is not one.</summary>
    public static string? TryNormalizeSerial(string text)
    {
        try
        {
            return SerialNumber.Normalize(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Serial as upper-case hex without leading zeros (matches CRL parsing).</summary>
    public static string SerialOf(X509Certificate2 certificate) =>
        SerialNumber.Normalize((certificate ?? throw new ArgumentNullException(nameof(certificate))).SerialNumberBytes.Span);
}
