using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace MtlsGate.Tls;

/// <summary>Why a CRL was refused (a bounded metric label).</summary>
public enum CrlRefusalKind
{
    /// <summary>Older than (or numbered below, or a different CRL under the number of) the one already accepted.</summary>
    Rollback,
    /// <summary>A download larger than <c>MtlsGate:Limits:MaxCrlBytes</c>.</summary>
    TooLarge,
    /// <summary>A download that does not parse or verify against the trust store's CAs.</summary>
    Invalid,
}

/// <summary>A refused CRL, as readiness reports it.</summary>
public sealed record CrlRefusal(string Source, CrlRefusalKind Kind, string Reason, DateTimeOffset At);

/// <summary>The highest CRL accepted for one issuer.</summary>
public sealed record CrlMark(string Issuer, BigInteger Number, DateTimeOffset ThisUpdate, string Sha256);

/// <summary>
/// Revocation only moves forward: per issuing CA, the highest CRL number and thisUpdate ever accepted,
/// persisted in the private state directory (<c>crl-marks.json</c>) so a restart remembers them. A CRL
/// numbered below the mark, with the mark's number but other content, or with an older thisUpdate is
/// refused (RFC 5280 §5.2.3: CRL numbers increase monotonically per issuer). The very same CRL
/// (same bytes) is fine. Deleting the file is the operator's documented way back.
/// </summary>
/// <remarks>
/// One instance per state directory in the process (start-up, reload, the CRL fetcher and readiness
/// share it; tests with separate directories stay apart). The file is the truth and is read at each
/// check, so its deletion takes effect at the next reload; the instance also remembers recent refusals.
/// </remarks>
public sealed class CrlHighWaterMarks
{
    public const string FileName = "crl-marks.json";

    private static readonly ConcurrentDictionary<string, CrlHighWaterMarks> ByDirectory = new(StringComparer.Ordinal);

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, CrlRefusal> _refusals = new(StringComparer.Ordinal);
    private readonly long[] _counts = new long[Enum.GetValues<CrlRefusalKind>().Length];

    private CrlHighWaterMarks(string directory)
    {
        Directory = directory;
        FilePath = Path.Combine(directory, FileName);
    }

    /// <summary>The state directory the marks live in.</summary>
    public string Directory { get; }

    public string FilePath { get; }

    /// <summary>The marks of <paramref name="stateDirectory"/>.</summary>
    public static CrlHighWaterMarks For(string stateDirectory) =>
        ByDirectory.GetOrAdd(Path.GetFullPath(stateDirectory), static directory => new CrlHighWaterMarks(directory));

    /// <summary>Recent refusals, the latest per source (file path or URL); a later acceptance from that source clears it.</summary>
    public IReadOnlyCollection<CrlRefusal> Refusals => _refusals.Values.ToList();

    /// <summary>How many CRLs were refused for <paramref name="kind"/> since start-up.</summary>
    public long RefusalCount(CrlRefusalKind kind) => Interlocked.Read(ref _counts[(int)kind]);

    /// <summary>The key of an issuing CA: its name and its key (what signs CRLs), not its certificate, so a renewed CA certificate keeps its mark.</summary>
    public static string IssuerKey(X509Certificate2 issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        return Convert.ToHexStringLower(SHA256.HashData([.. issuer.SubjectName.RawData, .. issuer.PublicKey.ExportSubjectPublicKeyInfo()]));
    }

    /// <summary>Why accepting <paramref name="crl"/> would roll revocation back below <paramref name="mark"/>, or null.</summary>
    public static string? RollbackProblem(CrlMark? mark, CertificateRevocationList crl)
    {
        ArgumentNullException.ThrowIfNull(crl);
        if (mark is null)
        {
            return null;
        }

        var number = crl.Number ?? BigInteger.MinusOne;
        if (number < mark.Number)
        {
            return $"CRL number {number} is below {mark.Number}, already accepted for '{mark.Issuer}' (revocation never rolls back)";
        }

        if (number == mark.Number && !string.Equals(crl.Sha256, mark.Sha256, StringComparison.Ordinal))
        {
            return $"CRL number {number} was already accepted for '{mark.Issuer}' with other content (a CA never reuses a number)";
        }

        if (crl.ThisUpdate < mark.ThisUpdate)
        {
            return $"thisUpdate {crl.ThisUpdate:u} is older than {mark.ThisUpdate:u}, already accepted for '{mark.Issuer}' (revocation never rolls back)";
        }

        return null;
    }

    /// <summary>The marks as persisted (none when the file does not exist). Throws <see cref="IOException"/> when it is unreadable or corrupt.</summary>
    public IReadOnlyDictionary<string, CrlMark> Load()
    {
        byte[]? bytes;
        try
        {
            bytes = PrivateDirectory.ReadRegularFile(FilePath);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException(ex.Message, ex);
        }

        var marks = new Dictionary<string, CrlMark>(StringComparer.Ordinal);
        if (bytes is null)
        {
            return marks;
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            foreach (var issuer in document.RootElement.GetProperty("issuers").EnumerateObject())
            {
                var value = issuer.Value;
                marks[issuer.Name] = new CrlMark(
                    value.GetProperty("issuer").GetString() ?? "",
                    BigInteger.Parse(value.GetProperty("number").GetString() ?? "", NumberStyles.None, CultureInfo.InvariantCulture),
                    value.GetProperty("thisUpdate").GetDateTimeOffset(),
                    value.GetProperty("sha256").GetString() ?? "");
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new IOException($"'{FilePath}' is corrupt ({ex.Message}); delete it to start over (that forgets which CRLs were accepted).", ex);
        }

        return marks;
    }

    /// <summary>
    /// Checks a CRL against the persisted mark of its issuer; a refusal is remembered (readiness, metric).
    /// Returns why it is refused, or null.
    /// </summary>
    public string? Check(CrlSource crl, IReadOnlyDictionary<string, CrlMark> marks, string source, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(crl);
        ArgumentNullException.ThrowIfNull(marks);
        marks.TryGetValue(IssuerKey(crl.Issuer), out var mark);
        var problem = RollbackProblem(mark, crl.Crl);
        if (problem is null)
        {
            _refusals.TryRemove(source, out _);
        }
        else
        {
            Refused(source, CrlRefusalKind.Rollback, problem, now);
        }

        return problem;
    }

    /// <summary>Remembers a refusal from <paramref name="source"/> (readiness shows the latest per source; the metric counts them).</summary>
    public void Refused(string source, CrlRefusalKind kind, string reason, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(source);
        _refusals[source] = new CrlRefusal(source, kind, reason, now);
        Interlocked.Increment(ref _counts[(int)kind]);
    }

    /// <summary>Forgets the refusal of <paramref name="source"/> (it delivered an acceptable CRL since).</summary>
    public void Accepted(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _refusals.TryRemove(source, out _);
    }

    /// <summary>
    /// Raises the marks to <paramref name="crls"/> (already checked, so never lowered) and writes the file
    /// atomically when anything moved. The state directory must exist (see <see cref="PrivateDirectory.Ensure"/>).
    /// </summary>
    public void Raise(IEnumerable<CrlSource> crls)
    {
        ArgumentNullException.ThrowIfNull(crls);
        lock (_lock)
        {
            var marks = new Dictionary<string, CrlMark>(Load(), StringComparer.Ordinal);
            var changed = false;
            foreach (var source in crls)
            {
                var key = IssuerKey(source.Issuer);
                var crl = source.Crl;
                var number = crl.Number ?? BigInteger.MinusOne;
                if (marks.TryGetValue(key, out var mark) && (number < mark.Number || (number == mark.Number && crl.ThisUpdate <= mark.ThisUpdate)))
                {
                    continue;
                }

                marks[key] = new CrlMark(source.Issuer.Subject, number, crl.ThisUpdate, crl.Sha256);
                changed = true;
            }

            if (changed)
            {
                PrivateDirectory.WriteAtomic(FilePath, Serialize(marks));
            }
        }
    }

    private static byte[] Serialize(Dictionary<string, CrlMark> marks)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("about", "Highest CRL accepted per issuing CA (MtlsGate). A CRL below these is refused; delete this file only to deliberately accept an older CRL.");
            json.WriteStartObject("issuers");
            foreach (var (key, mark) in marks.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                json.WriteStartObject(key);
                json.WriteString("issuer", mark.Issuer);
                json.WriteString("number", mark.Number.ToString(CultureInfo.InvariantCulture));
                json.WriteString("thisUpdate", mark.ThisUpdate);
                json.WriteString("sha256", mark.Sha256);
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
