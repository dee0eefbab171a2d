using System.Net.Http;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using MtlsGate.Configuration;
using MtlsGate.Hosting;
using MtlsGate.Proxy;
using MtlsGate.Tests.Configuration;
using MtlsGate.Tests.TestSupport;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace MtlsGate.Tests.Proxy;

/// <summary>
/// The client factory alone, called as YARP's ProxyConfigManager calls it on every applied
/// configuration: it keeps the client while the backend settings are unchanged, makes a new one when
/// they change, and disposes the replaced one after the drain time.
/// </summary>
public sealed class BackendHttpClientFactoryTests : IDisposable
{
    private readonly BackendPki _pki = new();
    private readonly ConfigFiles _files = new();

    public void Dispose()
    {
        _pki.Dispose();
        _files.Dispose();
    }

    private GatewaySnapshot Compile(bool withBackend = true)
    {
        var json = ConfigFiles.Minimal();
        json["MtlsGate"]!["StateDirectory"] = Path.Combine(_files.Folder, "state");
        json["MtlsGate"]!["Limits"] = new JsonObject { ["DrainTimeout"] = "00:00:00.200" };
        _pki.Configure(json, new Uri("https://127.0.0.1:1/"));
        if (!withBackend)
        {
            json["MtlsGate"]!.AsObject().Remove("Backends");
        }

        var file = Path.Combine(_files.Folder, "gateway.json");
        File.WriteAllText(file, json.ToJsonString());
        var (snapshot, errors) = ConfigCompiler.Compile(new ConfigurationBuilder().AddJsonFile(file).Build(), _files.Folder);
        return snapshot ?? throw new InvalidOperationException(string.Join("; ", errors));
    }

    private static BackendHttpClientFactory Factory(GatewayState state) =>
        new BackendHttpClientFactory(state, TimeProvider.System, NullLogger<BackendHttpClientFactory>.Instance, NullLogger<ForwarderHttpClientFactory>.Instance);

    private static ForwarderHttpClientContext Next(HttpMessageInvoker? old) => new()
    {
        ClusterId = "app",
        OldClient = old,
        OldConfig = HttpClientConfig.Empty,
        NewConfig = HttpClientConfig.Empty,
    };

    private static async Task<bool> IsDisposedAsync(HttpMessageInvoker client)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "https://127.0.0.1:1/");
            using var response = await client.SendAsync(request, CancellationToken.None);
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        catch (HttpRequestException)
        {
            return false; // alive: nothing listens on port 1
        }
    }

    [Fact]
    public void Unchanged_backend_settings_keep_the_client_and_its_pooled_connections()
    {
        var state = new GatewayState(Compile());
        var factory = Factory(state);
        var first = factory.CreateClient(Next(null));

        state.Swap(Compile());

        Assert.Same(first, factory.CreateClient(Next(first)));
    }

    [Fact]
    public async Task A_new_client_certificate_makes_a_new_client_and_the_old_one_is_disposed_after_the_drain_time()
    {
        var state = new GatewayState(Compile());
        var factory = Factory(state);
        var first = factory.CreateClient(Next(null));

        _pki.WritePem("client", _pki.Client2);
        state.Swap(Compile());
        var second = factory.CreateClient(Next(first));

        Assert.NotSame(first, second);
        Assert.False(await IsDisposedAsync(second));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await IsDisposedAsync(first))
        {
            Assert.True(DateTime.UtcNow < deadline, "the replaced client was not disposed after the drain time");
            await Task.Delay(50);
        }
    }

    [Fact]
    public void Removing_the_Backends_entry_replaces_the_mutual_TLS_client_with_a_default_one()
    {
        var state = new GatewayState(Compile());
        var factory = Factory(state);
        var first = factory.CreateClient(Next(null));

        state.Swap(Compile(withBackend: false));
        var second = factory.CreateClient(Next(first));

        Assert.NotSame(first, second);
        // And a cluster without an entry keeps YARP's own reuse rule from then on.
        Assert.Same(second, factory.CreateClient(Next(second)));
    }
}
