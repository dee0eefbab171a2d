using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Policy;
using MtlsGate.Text;

namespace MtlsGate.Management;

/// <summary>A certificate's remaining life, as exposed for metrics and warnings.</summary>
public sealed record ExpiryEntry(string Kind, string Subject, string Fingerprint, DateTimeOffset NotAfter);

/// <summary>
/// Days to expiry of the server certificate, every CA, every CRL's nextUpdate and every client
/// certificate seen; warns once per configured threshold (e.g. 30, 7, 1 days) per certificate.
/// Client certificates are remembered in a bounded table (no growth without limit).
/// </summary>
public sealed class ExpiryMonitor(GatewayState state, TimeProvider time, ILogger<ExpiryMonitor> logger)
{
    public const int MaxClients = 10_000;

    private readonly ConcurrentDictionary<string, ExpiryEntry> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _warned = new(StringComparer.Ordinal);

    /// <summary>Client certificates seen (most recent first is not guaranteed), bounded by <see cref="MaxClients"/>.</summary>
    public ICollection<ExpiryEntry> Clients => _clients.Values;

    /// <summary>Called once per connection with a valid certificate.</summary>
    public void ObserveClient(ClientIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (!identity.IsValid || _clients.ContainsKey(identity.Sha256Fingerprint))
        {
            return;
        }

        if (_clients.Count < MaxClients)
        {
            var entry = new ExpiryEntry("Client", identity.EncodedSubject, identity.Sha256Fingerprint, identity.NotAfter);
            _clients.TryAdd(identity.Sha256Fingerprint, entry);
            Warn(entry, state.Current.Expiry.WarnDays);
        }
    }

    /// <summary>The server certificate, every CA and every CRL's nextUpdate of the current snapshot.</summary>
    public IReadOnlyList<ExpiryEntry> TrustMaterial()
    {
        var snapshot = state.Current;
        var entries = new List<ExpiryEntry>();
        if (snapshot.ServerCertificate is { } server)
        {
            entries.Add(Entry("Server", server.Leaf));
        }

        foreach (var store in snapshot.TrustStores.Values)
        {
            foreach (var authority in store.Authorities)
            {
                entries.Add(Entry("CA", authority));
            }

            foreach (var crl in store.Revocation.Crls)
            {
                if (crl.Crl.NextUpdate is { } next)
                {
                    entries.Add(new ExpiryEntry("CRL", crl.Crl.Issuer.Name, crl.Source, next));
                }
            }
        }

        return entries;
    }

    /// <summary>Warns for the trust material (called by the reloader on every tick; each warning once).</summary>
    public void CheckTrustMaterial()
    {
        var snapshot = state.Current;
        foreach (var entry in TrustMaterial())
        {
            if (entry.Kind == "CRL")
            {
                var crl = snapshot.TrustStores.Values.SelectMany(s => s.Revocation.Crls.Select(c => (s, c))).FirstOrDefault(p => p.c.Source == entry.Fingerprint);
                if (crl.s is not null && crl.s.Revocation.IsStale(crl.c, time.GetUtcNow()))
                {
                    if (_warned.TryAdd("stale|" + entry.Fingerprint + "|" + entry.NotAfter.Ticks, 0))
                    {
                        Log.CrlStale(logger, entry.Subject, entry.Fingerprint, entry.NotAfter);
                    }

                    continue;
                }
            }

            Warn(entry, snapshot.Expiry.WarnDays);
        }
    }

    private void Warn(ExpiryEntry entry, IReadOnlyList<int> thresholds)
    {
        var days = CertificateExpiry.DaysLeft(entry.NotAfter, time.GetUtcNow());
        // The smallest threshold the certificate is under: one warning per threshold crossed.
        var crossed = thresholds.Where(t => days <= t).DefaultIfEmpty(-1).Min();
        if (crossed >= 0 && _warned.TryAdd(entry.Kind + "|" + entry.Fingerprint + "|" + crossed, 0))
        {
            Log.CertificateExpiring(logger, entry.Kind, entry.Subject, entry.Fingerprint, entry.NotAfter, days);
        }
    }

    private static ExpiryEntry Entry(string kind, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        new(kind, HeaderEncoding.Encode(certificate.Subject),
            Fingerprint.Sha256(certificate),
            new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));
}
