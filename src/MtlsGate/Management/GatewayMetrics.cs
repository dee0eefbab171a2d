using System.Diagnostics.Metrics;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Policy;
using Yarp.ReverseProxy;

namespace MtlsGate.Management;

/// <summary>
/// The instruments that read the gateway's state, on <see cref="GatewayMeter"/>'s meter (<c>MtlsGate</c>),
/// and prometheus-net's set-up for <c>/metrics</c>. Labels are bounded: certificate kinds, configured CA
/// subjects and cluster ids come from the configuration or fixed enums; never fingerprints, paths or client subjects.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = GatewayMeter.MeterName;

    public GatewayMetrics(GatewayMeter meter, GatewayState state, ExpiryMonitor expiry, TimeProvider time, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(meter);
        var instruments = meter.Meter;
        instruments.CreateObservableCounter("reloads", () => new[]
        {
            new Measurement<long>(state.ReloadSuccesses, new KeyValuePair<string, object?>("result", "success")),
            new Measurement<long>(state.ReloadFailures, new KeyValuePair<string, object?>("result", "failure")),
        }, description: "Configuration and trust-material reloads.");
        instruments.CreateObservableGauge("certificate.expiry.days", () => expiry.TrustMaterial().Select(e =>
            new Measurement<double>(CertificateExpiry.DaysLeft(e.NotAfter, time.GetUtcNow()),
                new KeyValuePair<string, object?>("kind", e.Kind),
                new KeyValuePair<string, object?>("subject", e.Subject))),
            description: "Days until the server certificate and each CA expire, and until each CRL's nextUpdate.");
        instruments.CreateObservableGauge("client_certificates.expiring", () =>
        {
            var now = time.GetUtcNow();
            var days = expiry.Clients.Select(c => CertificateExpiry.DaysLeft(c.NotAfter, now)).ToList();
            return state.Current.Expiry.WarnDays.Select(threshold => new Measurement<long>(days.Count(d => d <= threshold),
                new KeyValuePair<string, object?>("within_days", threshold)));
        }, description: "Client certificates seen that expire within each warning threshold.");
        instruments.CreateObservableCounter("crl.refusals", () => CrlRefusals(state), description: "CRLs refused by reason: Rollback (older than the one accepted), TooLarge (over MaxCrlBytes), Invalid.");
        instruments.CreateObservableGauge("backend.destinations", () => Destinations(services), description: "Backend destinations per cluster: available (healthy or not checked) or unavailable (unhealthy).");
    }

    private static readonly Lazy<bool> PrometheusConfigured = new(() =>
    {
        // prometheus-net reads System.Diagnostics.Metrics (its MeterAdapter): ours and Kestrel's (TLS
        // handshakes, connections). ASP.NET Core hosting's and HttpClient's per-request histograms are
        // left out: several tagged measurements per request on the hot path, and mtlsgate_requests
        // already counts every request by route and decision. EventCounters are off (costly, redundant).
        Prometheus.Metrics.SuppressDefaultMetrics(new Prometheus.SuppressDefaultMetricOptions
        {
            SuppressEventCounters = true,
            SuppressDebugMetrics = true,
            SuppressProcessMetrics = false,
            SuppressMeters = false,
        });
        Prometheus.Metrics.ConfigureMeterAdapter(options => options.InstrumentFilterPredicate = instrument =>
            instrument.Meter.Name is MeterName or "Microsoft.AspNetCore.Server.Kestrel" or "Yarp.ReverseProxy");
        // The adapter only starts listening at the first export (prometheus-net issue #487): export
        // once now, so no measurement before the first scrape is lost.
        Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(Stream.Null).GetAwaiter().GetResult();
        return true;
    });

    /// <summary>Configures prometheus-net's process-wide defaults once.</summary>
    public static void ConfigurePrometheus() => _ = PrometheusConfigured.Value;

    private static IEnumerable<Measurement<long>> CrlRefusals(GatewayState state)
    {
        var directory = state.Current.StateDirectory;
        if (directory.Length == 0)
        {
            yield break;
        }

        var marks = Tls.CrlHighWaterMarks.For(directory);
        foreach (var kind in Enum.GetValues<Tls.CrlRefusalKind>())
        {
            yield return new Measurement<long>(marks.RefusalCount(kind), new KeyValuePair<string, object?>("reason", kind.ToString()));
        }
    }

    private static IEnumerable<Measurement<long>> Destinations(IServiceProvider services)
    {
        if (services.GetService(typeof(IProxyStateLookup)) is not IProxyStateLookup lookup)
        {
            yield break;
        }

        foreach (var cluster in lookup.GetClusters())
        {
            var all = cluster.Destinations.Count;
            var available = Readiness.HealthyDestinations(cluster);
            yield return new Measurement<long>(available, new KeyValuePair<string, object?>("cluster", cluster.ClusterId), new KeyValuePair<string, object?>("state", "available"));
            yield return new Measurement<long>(all - available, new KeyValuePair<string, object?>("cluster", cluster.ClusterId), new KeyValuePair<string, object?>("state", "unavailable"));
        }
    }
}
