using System.Net.Http;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Text;
using MtlsGate.Tls;
using Yarp.ReverseProxy.Forwarder;
using Log = MtlsGate.Logging.Log;

namespace MtlsGate.Proxy;

/// <summary>
/// YARP's HTTP client factory with mutual TLS for the clusters of <c>MtlsGate:Backends</c>; every
/// other cluster gets YARP's default client unchanged (its https destinations are verified against
/// the system trust store by <see cref="SocketsHttpHandler"/>'s default validation).
/// </summary>
/// <remarks>
/// Built on YARP's <see cref="ForwarderHttpClientFactory"/> (microsoft/reverse-proxy 2.3.0,
/// src/ReverseProxy/Forwarder/ForwarderHttpClientFactory.cs): its <c>CreateClient</c> returns the
/// old client when <c>CanReuseOldClient</c> says so (by default: the cluster's <c>HttpClientConfig</c>
/// is unchanged), else makes a <see cref="SocketsHttpHandler"/> and passes it to <c>ConfigureHandler</c>.
/// YARP calls <c>CreateClient</c> for every cluster each time a configuration is applied
/// (src/ReverseProxy/Management/ProxyConfigManager.cs, UpdateRuntimeClusters) and installs the
/// returned client when it is a different object (ClusterModel.HasConfigChanged compares the
/// client by reference). The gateway applies a configuration to YARP on every successful reload,
/// so rotation works like this: the reload compiles a new <see cref="BackendTls"/>, YARP asks for
/// the cluster's client, <see cref="CanReuseOldClient"/> sees that the old client was built for
/// another <see cref="BackendTls.Version"/> (or for none), and a new handler with the new certificate
/// is made; every new request, hence every new connection, uses it. The old client takes no new
/// request; requests in flight on it get <c>MtlsGate:Limits:DrainTimeout</c> to finish, then it is
/// disposed, closing its pooled connections. A reload that does not change the backend settings
/// keeps the client and its connections.
/// </remarks>
public sealed class BackendHttpClientFactory : ForwarderHttpClientFactory, IForwarderHttpClientFactory
{
    private readonly GatewayState _state;
    private readonly TimeProvider _time;
    private readonly ILogger<BackendHttpClientFactory> _logger;

    /// <summary>The backend settings each client was built with (clients of clusters without any are absent).</summary>
    private readonly ConditionalWeakTable<HttpMessageInvoker, BackendTls> _built = [];

    private readonly Lock _lock = new();

    /// <summary>The settings of the cluster being created, read by the overrides during base.CreateClient (under <see cref="_lock"/>).</summary>
    private BackendTls? _pending;

    public BackendHttpClientFactory(GatewayState state, TimeProvider time, ILogger<BackendHttpClientFactory> logger, ILogger<ForwarderHttpClientFactory> yarpLogger)
        : base(yarpLogger)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _state = state;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Hides YARP's (non-virtual) <c>CreateClient</c>, and re-implements the interface with it, so
    /// that no caller reaches the base method without the cluster's backend settings.
    /// </summary>
    public new HttpMessageInvoker CreateClient(ForwarderHttpClientContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The snapshot being applied: YARP applies it from GatewayState.Swapped (the snapshot is
        // already current). Should a later reload have swapped in between, its settings are used and
        // its own apply then finds the client up to date.
        var snapshot = _state.Current;
        var backend = snapshot.Backends.GetValueOrDefault(context.ClusterId);
        HttpMessageInvoker client;
        lock (_lock)
        {
            _pending = backend;
            try
            {
                client = base.CreateClient(context);
            }
            finally
            {
                _pending = null;
            }
        }

        if (ReferenceEquals(client, context.OldClient))
        {
            return client;
        }

        if (backend is not null)
        {
            _built.AddOrUpdate(client, backend);
            Log.BackendClientCreated(_logger, backend.ClusterId, HeaderEncoding.Encode(backend.ClientCertificate.Leaf.Subject),
                backend.ClientCertificate.Leaf.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant(), backend.ClientCertificate.Leaf.NotAfter.ToUniversalTime(),
                Trust(backend), string.Join(", ", backend.ServerNames));
        }

        if (context.OldClient is { } old && _built.TryGetValue(old, out _))
        {
            var grace = snapshot.Limits.DrainTimeout;
            Log.BackendClientRetired(_logger, context.ClusterId, grace);
            _ = DisposeLaterAsync(old, grace);
        }

        return client;
    }

    /// <summary>YARP's rule (same <c>HttpClientConfig</c>) and the same backend settings version.</summary>
    protected override bool CanReuseOldClient(ForwarderHttpClientContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!base.CanReuseOldClient(context))
        {
            return false;
        }

        _built.TryGetValue(context.OldClient!, out var previous);
        return previous?.Version == _pending?.Version;
    }

    /// <summary>YARP's settings, then the client certificate and the backend verification.</summary>
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        base.ConfigureHandler(context, handler);
        if (_pending is not { } backend)
        {
            return;
        }

        // ClientCertificateContext is sent whatever CA list the backend announces (ClientCertificates
        // would be filtered by it), with the intermediates of the configured file.
        handler.SslOptions.ClientCertificateContext = backend.ClientCertificate.Context;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, _) => Verify(backend, certificate, chain);
    }

    /// <summary>
    /// Replaces the platform's verdict (system store, the name of the SNI host) with ours; a refusal
    /// fails the handshake, which YARP answers with 502 and no detail (ForwarderError.Request).
    /// </summary>
    private bool Verify(BackendTls backend, X509Certificate? certificate, X509Chain? chain)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            Log.BackendCertificateRejected(_logger, backend.ClusterId, "no certificate", "-", "-");
            return false;
        }

        // SslStream puts the certificates the backend sent besides its leaf into the ExtraStore.
        var presented = chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>() ?? [];
        var problem = BackendCertificateValidator.Problem(leaf, presented, backend.Roots, backend.Intermediates, backend.UseSystemTrust, backend.ServerNames, _time.GetUtcNow());
        if (problem is null)
        {
            return true;
        }

        Log.BackendCertificateRejected(_logger, backend.ClusterId, problem, HeaderEncoding.Encode(leaf.Subject), leaf.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant());
        return false;
    }

    private static string Trust(BackendTls backend) =>
        (backend.CaBundle is null ? "" : $"CA bundle {backend.CaBundle}") + (backend.UseSystemTrust ? (backend.CaBundle is null ? "" : " + ") + "system store" : "");

    private async Task DisposeLaterAsync(HttpMessageInvoker client, TimeSpan grace)
    {
        await Task.Delay(grace, _time).ConfigureAwait(false);
        client.Dispose();
    }
}
