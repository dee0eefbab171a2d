using System.Collections.Frozen;
using System.Text.Json;
using MtlsGate.Tls;

namespace MtlsGate.Login;

/// <summary>
/// Session ids ended by a logout, each remembered until the session would have expired, so a cookie
/// replayed after logout is refused. Kept in memory (read on the request path) and in a file of the
/// private state directory (<see cref="PrivateDirectory.WriteAtomic"/>), read once at start-up and after
/// a reload that moves it: never on the request path. A logout is the only writer.
/// </summary>
internal sealed class RevokedSessions
{
    private readonly Lock _lock = new();
    private FrozenDictionary<string, long> _revoked = FrozenDictionary<string, long>.Empty;

    public RevokedSessions(string file) => File = file;

    public string File { get; }

    public bool IsRevoked(string idHex) => _revoked.ContainsKey(idHex);

    public int Count => _revoked.Count;

    /// <summary>Reads the file (missing: none revoked). Throws IOException/JsonException for an unreadable one.</summary>
    public void Load(DateTimeOffset now)
    {
        var bytes = PrivateDirectory.ReadRegularFile(File);
        var entries = bytes is null ? [] : JsonSerializer.Deserialize<Dictionary<string, long>>(bytes) ?? [];
        lock (_lock)
        {
            _revoked = entries.Where(e => e.Value > now.ToUnixTimeSeconds()).ToFrozenDictionary(StringComparer.Ordinal);
        }
    }

    /// <summary>Revokes <paramref name="idHex"/> until <paramref name="expiresAt"/> (in memory at once, then on disk; expired entries pruned).</summary>
    public void Revoke(string idHex, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        byte[] content;
        lock (_lock)
        {
            var next = _revoked.Where(e => e.Value > now.ToUnixTimeSeconds()).ToDictionary(StringComparer.Ordinal);
            next[idHex] = expiresAt.ToUnixTimeSeconds();
            _revoked = next.ToFrozenDictionary(StringComparer.Ordinal);
            content = JsonSerializer.SerializeToUtf8Bytes(next);
        }

        var directory = Path.GetDirectoryName(File)!;
        if (PrivateDirectory.Ensure(directory) is { } problem)
        {
            throw new IOException(problem);
        }

        PrivateDirectory.WriteAtomic(File, content);
    }
}
