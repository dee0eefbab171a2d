using System.Text.Json;
using MtlsGate.Configuration;
using Yarp.ReverseProxy;

namespace MtlsGate.Management;

/// <summary>One readiness problem or warning: what is wrong, never a secret.</summary>
public sealed record ReadinessItem(string Check, string Detail);

/// <summary>The readiness verdict and its reasons.</summary>
public sealed record ReadinessReport(bool Ready, IReadOnlyList<ReadinessItem> Problems, IReadOnlyList<ReadinessItem> Warnings)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The device store's state for <c>/readyz</c>: kind, up or down, where (file or host/database), the block list's age.</summary>
    public object? Store { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(new
    {
        status = Ready ? "ready" : "not ready",
        problems = Problems,
        warnings = Warnings,
        store = Store,
    }, Json);
}

/// <summary>
/// <c>/readyz</c>: ready only when the server certificate is valid, every trust store is loaded,
/// every configured CRL is present and not stale beyond its grace, and every cluster has an
/// available destination (YARP active health checks decide availability when configured).
/// A refused reload or a refused CRL (rollback, too large, invalid) is a warning: the last good state
/// still serves correctly.
/// </summary>
public static class Readiness
{
    public static ReadinessReport Evaluate(GatewayState state, TimeProvider time, IProxyStateLookup? proxy) => Evaluate(state, time, proxy, null);

    /// <summary>
    /// As above, with the device store: never reached since start-up (no block list loaded yet) is a
    /// problem (a replica that cannot know who is blocked should not get traffic); down after a load is a
    /// warning (every replica shares the store: a problem there would take them all out of rotation,
    /// while the last loaded block list keeps deciding). Either way the store's kind and state are listed.
    /// </summary>
    public static ReadinessReport Evaluate(GatewayState state, TimeProvider time, IProxyStateLookup? proxy, Devices.DeviceStoreHealth? deviceStore)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(time);
        var snapshot = state.Current;
        var now = time.GetUtcNow();
        var problems = new List<ReadinessItem>();
        var warnings = new List<ReadinessItem>();

        if (snapshot.ServerCertificate is { } server)
        {
            if (now >= server.Leaf.NotAfter.ToUniversalTime())
            {
                problems.Add(new("serverCertificate", $"expired {server.Leaf.NotAfter.ToUniversalTime():u}"));
            }
            else if (now < server.Leaf.NotBefore.ToUniversalTime())
            {
                problems.Add(new("serverCertificate", $"not valid before {server.Leaf.NotBefore.ToUniversalTime():u}"));
            }
        }

        foreach (var store in snapshot.TrustStores.Values)
        {
            if (store.Roots.Count == 0)
            {
                problems.Add(new($"trustStore:{store.Name}", "no root loaded"));
            }

            foreach (var crl in store.Revocation.Crls)
            {
                if (store.Revocation.IsStale(crl, now))
                {
                    problems.Add(new($"trustStore:{store.Name}", $"CRL of '{crl.Crl.Issuer.Name}' is past nextUpdate {crl.Crl.NextUpdate:u} (beyond the grace): its certificates are refused"));
                }
            }
        }

        foreach (var url in snapshot.CrlUrls)
        {
            if (!File.Exists(Configuration.ConfigCompiler.CrlCachePath(snapshot.Reload.CrlCacheDirectory, url.Url)))
            {
                problems.Add(new($"trustStore:{url.TrustStore}", $"CRL from {url.Url.GetLeftPart(UriPartial.Path)} not fetched yet"));
            }
        }

        if (snapshot.StateDirectory.Length != 0)
        {
            // A refused CRL (a rollback, too large, invalid) changes nothing that serves, but someone
            // should look: the source may be compromised or misconfigured.
            foreach (var refusal in Tls.CrlHighWaterMarks.For(snapshot.StateDirectory).Refusals.OrderBy(r => r.Source, StringComparer.Ordinal))
            {
                warnings.Add(new($"crl:{refusal.Source}", $"refused ({refusal.Kind}) at {refusal.At:u}: {refusal.Reason}; the CRL in force stays"));
            }
        }

        BackendReadiness.Evaluate(snapshot, now, problems, warnings);
        EdgeReadiness.Evaluate(snapshot, now, problems, warnings);
        if (proxy is not null)
        {
            foreach (var cluster in proxy.GetClusters())
            {
                if (HealthyDestinations(cluster) == 0)
                {
                    problems.Add(new($"cluster:{cluster.ClusterId}", "no healthy destination"));
                }
            }
        }

        if (deviceStore is not null)
        {
            DeviceStore(deviceStore, problems, warnings);
        }

        if (state.LastReloadErrors.Count != 0)
        {
            warnings.Add(new("reload", $"the last reload was refused ({state.LastReloadErrors.Count} error(s), see the log); the last good configuration is serving"));
        }

        return new ReadinessReport(problems.Count == 0, problems, warnings)
        {
            Store = deviceStore is null ? null : new
            {
                kind = deviceStore.Kind,
                state = deviceStore.Up ? "up" : "down",
                location = deviceStore.Display,
                schemaVersion = deviceStore.SchemaVersion,
                blockListLoadedAt = deviceStore.BlockListLoadedAt,
                downSince = deviceStore.DownSince,
                error = deviceStore.LastError,
            },
        };
    }

    private static void DeviceStore(Devices.DeviceStoreHealth store, List<ReadinessItem> problems, List<ReadinessItem> warnings)
    {
        var check = $"store:{store.Kind}";
        if (store.Up)
        {
            return;
        }

        var error = store.LastError is { } e ? $": {e}" : "";
        if (store.BlockListLoadedAt is { } loaded)
        {
            warnings.Add(new(check, $"down since {store.DownSince:u}{error}; requests are decided with the block list loaded at {loaded:u}, and observations wait in memory"));
        }
        else
        {
            problems.Add(new(check, store.DownSince is null ? "not reached yet" : $"down since {store.DownSince:u}{error}; no block list loaded since start-up"));
        }
    }

    /// <summary>
    /// Destinations not known to be unhealthy (by active or passive checks). YARP's own "available"
    /// list falls back to every destination when all are unhealthy (panic mode), so it cannot tell.
    /// </summary>
    public static int HealthyDestinations(Yarp.ReverseProxy.Model.ClusterState cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return cluster.Destinations.Values.Count(d =>
            d.Health.Active != Yarp.ReverseProxy.Model.DestinationHealth.Unhealthy &&
            d.Health.Passive != Yarp.ReverseProxy.Model.DestinationHealth.Unhealthy);
    }
}
