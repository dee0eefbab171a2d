using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Denials;
using MtlsGate.Devices;
using MtlsGate.Logging;
using MtlsGate.Login;
using MtlsGate.Management;
using MtlsGate.Policy;
using MtlsGate.Proxy;
using Yarp.ReverseProxy.Configuration;
using Log = MtlsGate.Logging.Log;

namespace MtlsGate.Hosting;

/// <summary>The result of building the gateway: a ready app, or every configuration error.</summary>
public sealed record GatewayBuild(WebApplication? App, GatewayState? State, IReadOnlyList<string> Errors);

/// <summary>
/// The composition root (the same for serve, demo and tests): a table of contents of the floors, each
/// adding its own services and pipeline steps.
/// </summary>
public static class GatewayApp
{
    /// <summary>Builds the gateway from the configuration layers (<see cref="ConfigLayers"/>) with <paramref name="configFile"/> as the <c>--config</c> file.</summary>
    public static GatewayBuild Build(string? configFile, string[] commandLine, bool includeAppSettings = true, Action<IServiceCollection>? services = null)
    {
        // prometheus-net's set-up compiles a Regex (Reflection.Emit, then JIT) in a static constructor:
        // start it now, on another core, while the configuration is compiled. It runs once per process;
        // AddMtlsGateManagement waits for it.
        _ = Task.Run(GatewayMetrics.ConfigurePrometheus);
        var configuration = ConfigLayers.Load(configFile, commandLine, out var baseDirectory, out var error, out var files, includeAppSettings);
        if (error is not null)
        {
            return new GatewayBuild(null, null, [error]);
        }

        var (snapshot, errors) = ConfigCompiler.Compile(configuration, baseDirectory);
        if (snapshot is null)
        {
            return new GatewayBuild(null, null, errors);
        }

        var state = new GatewayState(snapshot);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = configuration["Environment"] ?? Environments.Production,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);

        builder.AddMtlsGateLogging(configuration);                                                         // Logging/
        builder.Services.AddSingleton(TimeProvider.System);                                                 // the one clock (tests replace it)
        builder.Services.AddMtlsGateState(state, configuration, new GatewayInputs(baseDirectory, files));   // Configuration/
        builder.Services.AddMtlsGateDevices(state);                                                         // Devices/
        builder.Services.AddMtlsGateEnrollment();                                                           // Devices/: one-time enrolment links
        builder.Services.AddMtlsGateManagement();                                                           // Management/
        builder.Services.AddMtlsGateReload();                                                               // Hosting/
        builder.AddMtlsGateListeners(state);                                                                // Hosting/
        builder.Services.AddMtlsGateProxy(state);                                                           // Proxy/
        builder.Services.AddMtlsGateLogin(state);                                                           // Login/
        services?.Invoke(builder.Services);

        var app = builder.Build();
        var proxyErrors = ProxyConfigCompiler.ValidateAsync(app.Services.GetRequiredService<IConfigValidator>(), snapshot.Proxy).GetAwaiter().GetResult();
        if (proxyErrors.Count != 0)
        {
            ((IDisposable)app).Dispose();
            return new GatewayBuild(null, null, proxyErrors);
        }

        app.UseMtlsGateManagement();      // Management/: the management listener's requests branch off here
        app.UseRequestTargetCheck();      // Denials/: 400 for targets a backend could read differently
        app.UseMtlsGateLogin();           // Login/: /.mtlsgate/login, logout, oidc/callback; the Bitwarden connector and vendor
        app.UseMtlsGateEnrollment();      // Devices/: /.mtlsgate/enroll/{token}, the one path without a certificate; never the backend
        app.UseRouting();
        app.UseEncodedSlashRouteCheck();  // Denials/: %2F only on routes that allow it
        app.UseMtlsGateDecision();        // Denials/: decide once; deny here, or carry the decision on
        app.MapReverseProxy();            // Proxy/: the transforms read the decision
        app.Lifetime.ApplicationStarted.Register(() => LogStart(app, snapshot));
        return new GatewayBuild(app, state, []);
    }

    /// <summary>The addresses Kestrel bound, split into gateway (https) and management (http).</summary>
    public static (IReadOnlyList<Uri> Gateway, Uri? Management) BoundAddresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var uris = addresses.Select(a => new Uri(a)).ToList();
        if (app.Services.GetRequiredService<GatewayState>().Current.Management.IsTls && uris.Count > 1)
        {
            // Both listeners speak https: Kestrel binds (and lists) them in the order GatewayListener.Configure
            // declares them, gateway endpoints first, the management listener last.
            return (uris[..^1], uris[^1]);
        }

        return (uris.Where(u => u.Scheme == "https").ToList(), uris.FirstOrDefault(u => u.Scheme == "http"));
    }

    private static void LogStart(WebApplication app, GatewaySnapshot snapshot)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MtlsGate");
        var (gateway, management) = BoundAddresses(app);
        Log.Listening(logger, string.Join(", ", gateway), management?.ToString() ?? "-");
        foreach (var store in snapshot.TrustStores.Values)
        {
            Log.TrustStoreLoaded(logger, store.Name, store.Roots.Count, store.Intermediates.Count);
        }

        if (snapshot.ServerCertificate is { } server)
        {
            var notAfter = new DateTimeOffset(server.Leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            var days = CertificateExpiry.DaysLeft(notAfter, app.Services.GetRequiredService<TimeProvider>().GetUtcNow());
            if (days < 30)
            {
                Log.ServerCertificateExpiry(logger, server.Leaf.Subject, server.Source, notAfter, days);
            }
        }
    }
}
