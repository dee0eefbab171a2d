using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tls;

/// <summary>
/// The intermediates clients sent in full handshakes, by leaf certificate, for the resumptions of
/// those sessions: a resumed TLS session gives the server the client's certificate but not the chain
/// it sent (OpenSSL serialises only the peer certificate into a session ticket; openssl/openssl#2942,
/// docs/research/dotnet-tls-resumption.md §2). Without them a client whose certificate comes from an
/// intermediate the trust store lacks would be judged <c>Untrusted</c> on every resumption.
/// </summary>
/// <remarks>
/// Safe to share across connections: intermediates are path-building hints only (the chain must
/// still end at a root of the trust store and pass every check), and any client may send any
/// intermediate in a full handshake anyway. Bounded: cleared whole when it would pass
/// <see cref="Limit"/> leaves; the cost of a miss is a resumption judged like today's full handshake
/// without the hint.
/// </remarks>
public static class ResumedSessionIntermediates
{
    public const int Limit = 10_000;

    private static readonly ConcurrentDictionary<string, X509Certificate2Collection> ByLeaf = new(StringComparer.Ordinal);

    public static void Remember(X509Certificate2 leaf, X509Certificate2Collection intermediates)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        ArgumentNullException.ThrowIfNull(intermediates);
        if (ByLeaf.Count >= Limit)
        {
            ByLeaf.Clear();
        }

        ByLeaf[Key(leaf)] = intermediates;
    }

    public static X509Certificate2Collection? Recall(X509Certificate2 leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        return ByLeaf.IsEmpty ? null : ByLeaf.GetValueOrDefault(Key(leaf));
    }

    private static string Key(X509Certificate2 leaf) => leaf.GetCertHashString(HashAlgorithmName.SHA256);
}
