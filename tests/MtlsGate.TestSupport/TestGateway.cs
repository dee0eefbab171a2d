using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using MtlsGate.Cli;
using MtlsGate.Configuration;
using MtlsGate.Hosting;
using MtlsGate.Tls;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// The real gateway, in-process, on loopback port 0 with real TLS, in front of a real
/// <see cref="Destination"/>. Configuration is written to a temporary folder and loaded through
/// the same <c>--config</c> path as production.
/// </summary>
public sealed class TestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGateway(WebApplication app, Destination destination, string folder, GatewayState state, JsonObject config)
    {
        Config = config;
        _app = app;
        Backend = destination;
        Folder = folder;
        State = state;
        var (gateway, management) = GatewayApp.BoundAddresses(app);
        GatewayUri = new Uri($"https://localhost:{gateway[0].Port}/");
        ManagementUri = management!;
        // Edge listeners (MtlsGate:Edges:NAME:Listen) are bound after the management listener, in name order.
        var addresses = app.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer)) is Microsoft.AspNetCore.Hosting.Server.IServer server
            ? server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [] : [];
        EdgeUris = addresses.Select(a => new Uri(a)).Where(u => u.Scheme == "http").Skip(1).Select(u => new Uri($"http://127.0.0.1:{u.Port}/")).ToList();
    }

    /// <summary>The plain-HTTP listeners of edges with <c>Listen</c>, in edge-name order (as 127.0.0.1 URLs).</summary>
    public IReadOnlyList<Uri> EdgeUris { get; }

    public Uri GatewayUri { get; }

    public Uri ManagementUri { get; }

    public Destination Backend { get; }

    public string Folder { get; }

    public GatewayState State { get; }

    /// <summary>The gateway's services (Login's session service, the device store, actions and inventory of the instance under test).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The configuration as written to <c>gateway.json</c>; see <see cref="RewriteConfigAsync"/>.</summary>
    public JsonObject Config { get; }

    public string ConfigFile => Path.Combine(Folder, "gateway.json");

    /// <summary>Changes the configuration file and waits until the gateway has reloaded it.</summary>
    public async Task RewriteConfigAsync(Action<JsonObject> change)
    {
        change(Config);
        await WaitForReloadAsync(() => File.WriteAllText(ConfigFile, Config.ToJsonString()));
    }

    /// <summary>Runs <paramref name="change"/> (a file write) and waits for the next reload attempt to finish.</summary>
    public async Task<bool> WaitForReloadAsync(Action change, TimeSpan? timeout = null)
    {
        var successes = State.ReloadSuccesses;
        var failures = State.ReloadFailures;
        change();
        await Eventually.TrueAsync(() => State.ReloadSuccesses > successes || State.ReloadFailures > failures, timeout ?? TimeSpan.FromSeconds(15), "The gateway did not reload.");
        return State.ReloadSuccesses > successes;
    }


    public static JsonObject DefaultConfig(Uri backend)
    {
        var config = MtlsGate.Cli.StarterConfig.Build("https://127.0.0.1:0", "http://127.0.0.1:0", backend);
        config["Serilog"] = new JsonObject { ["MinimumLevel"] = new JsonObject { ["Default"] = "Warning" } };
        return config;
    }

    /// <summary>Fast polling for reload tests.</summary>
    public static void FastReload(JsonObject config) =>
        config["MtlsGate"]!["Reload"] = new JsonObject { ["PollInterval"] = "00:00:00.100", ["CrlRefreshInterval"] = "00:00:01" };

    public static async Task<TestGateway> StartAsync(Action<JsonObject>? configure = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var pki = TestPki.Instance;
        var destination = await Destination.StartAsync();
        var folder = Directory.CreateTempSubdirectory("mtlsgate-test-").FullName;
        File.WriteAllText(Path.Combine(folder, "ca.pem"), pki.CaBundlePem);
        File.WriteAllText(Path.Combine(folder, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.ServerLeaf));
        File.WriteAllText(Path.Combine(folder, "server.key"), MtlsGate.Tls.Pki.KeyPem(pki.ServerLeaf));
        var config = DefaultConfig(destination.Address);
        configure?.Invoke(config);
        var file = Path.Combine(folder, "gateway.json");
        File.WriteAllText(file, config.ToJsonString());

        var build = CommandLine.Build(["--config", file], includeAppSettings: false, services);
        if (build.App is null)
        {
            await destination.DisposeAsync();
            throw new InvalidOperationException("Gateway did not build: " + string.Join("; ", build.Errors));
        }

        await build.App.StartAsync();
        return new TestGateway(build.App, destination, folder, build.State!, config);
    }

    /// <summary>An HttpClient presenting <paramref name="certificate"/> (and <paramref name="chain"/>), speaking exactly <paramref name="version"/>.</summary>
    public HttpClient Client(X509Certificate2? certificate, Version? version = null, X509Certificate2Collection? chain = null)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            SslOptions = ClientTls(certificate, chain),
        };
        return new HttpClient(handler)
        {
            BaseAddress = GatewayUri,
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public static SslClientAuthenticationOptions ClientTls(X509Certificate2? certificate, X509Certificate2Collection? chain = null)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            // The test trusts the gateway's server certificate by our root only.
            RemoteCertificateValidationCallback = (_, cert, _, _) =>
                cert is X509Certificate2 c && ChainValidatorForServer(c),
        };
        if (certificate is not null)
        {
            options.ClientCertificateContext = SslStreamCertificateContext.Create(certificate, chain ?? [], offline: true);
        }

        return options;
    }

    private static bool ChainValidatorForServer(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(TestPki.Instance.Root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        return chain.Build(certificate);
    }

    /// <summary>Stops the gateway (as on SIGTERM: drain, then the hosted services' final work) and keeps its folder for inspection.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    private bool _stopped;

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
        await Backend.DisposeAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
