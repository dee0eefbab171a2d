using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tls;

/// <summary>
/// One trust store from configuration: the roots and intermediates of its CA bundle, and the chain
/// policy every validation against it uses. Immutable; replaced whole when trust material changes.
/// </summary>
public sealed class TrustStore
{
    /// <summary>OID of the clientAuth extended key usage.</summary>
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    public TrustStore(string name, IReadOnlyList<X509Certificate2> roots, IReadOnlyList<X509Certificate2> intermediates, Revocation? revocation = null)
    {
        Name = name;
        Roots = roots;
        Intermediates = intermediates;
        Revocation = revocation ?? Revocation.None;
        ChainPolicy = CreateChainPolicy(roots, intermediates);
    }

    /// <summary>CRLs and deny-lists of this store.</summary>
    public Revocation Revocation { get; }

    /// <summary>Every CA of the bundle, roots first.</summary>
    public IEnumerable<X509Certificate2> Authorities => Roots.Concat(Intermediates);

    public string Name { get; }

    private long _validations;

    /// <summary>How many client certificates were judged against this store (one per connection, not per request).</summary>
    public long Validations => Interlocked.Read(ref _validations);

    internal void CountValidation() => Interlocked.Increment(ref _validations);

    public IReadOnlyList<X509Certificate2> Roots { get; }

    public IReadOnlyList<X509Certificate2> Intermediates { get; }

    /// <summary>
    /// The chain policy: custom root trust (never the system store), no certificate downloads (no AIA
    /// fetch to URLs the client chose), no online revocation, clientAuth EKU. Callers clone it
    /// (SslStream does) before adding the client's own intermediates.
    /// </summary>
    public X509ChainPolicy ChainPolicy { get; }

    private static X509ChainPolicy CreateChainPolicy(IReadOnlyList<X509Certificate2> roots, IReadOnlyList<X509Certificate2> intermediates)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            DisableCertificateDownloads = true,
            // Revocation is decided by the gateway's own CRL handling, never by a network fetch.
            RevocationMode = X509RevocationMode.NoCheck,
            RevocationFlag = X509RevocationFlag.ExcludeRoot,
            VerificationFlags = X509VerificationFlags.NoFlag,
            VerificationTimeIgnored = true,
            UrlRetrievalTimeout = TimeSpan.Zero,
        };
        policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ClientAuthOid));
        foreach (var root in roots)
        {
            policy.CustomTrustStore.Add(root);
        }

        foreach (var intermediate in intermediates)
        {
            policy.ExtraStore.Add(intermediate);
        }

        return policy;
    }
}
