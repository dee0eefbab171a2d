using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Management;
using MtlsGate.Tls;

namespace MtlsGate.Hosting;

/// <summary>Kestrel set-up: the TLS gateway listener(s) and the plain-HTTP management listener.</summary>
public static class GatewayListener
{
    private static readonly List<SslApplicationProtocol> Alpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    /// <summary>TLS 1.3 suites and ECDHE + AEAD for TLS 1.2: no CBC, no RSA key exchange, no SHA-1 MAC.</summary>
    private static readonly CipherSuitesPolicy? Ciphers = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()
        ? new CipherSuitesPolicy(
        [
            TlsCipherSuite.TLS_AES_128_GCM_SHA256,
            TlsCipherSuite.TLS_AES_256_GCM_SHA384,
            TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
            TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ])
        : null;

    /// <summary>Kestrel's listeners from the snapshot, and the drain time on SIGTERM.</summary>
    public static WebApplicationBuilder AddMtlsGateListeners(this WebApplicationBuilder builder, GatewayState state)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(state);
        // SIGTERM: Kestrel stops accepting, in-flight requests get up to the drain time, then exit 0.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = state.Current.Limits.DrainTimeout);
        builder.WebHost.ConfigureKestrel((_, kestrel) =>
        {
            var services = kestrel.ApplicationServices;
            Configure(kestrel, state, services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ExpiryMonitor>(), services.GetRequiredService<GatewayMeter>());
        });
        return builder;
    }

    public static void Configure(KestrelServerOptions kestrel, GatewayState state, TimeProvider time, ExpiryMonitor expiry, GatewayMeter metrics)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(state);
        var snapshot = state.Current;
        var limits = snapshot.Limits;
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodySize;
        kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        kestrel.Limits.KeepAliveTimeout = limits.KeepAliveTimeout;
        kestrel.Limits.MaxConcurrentConnections = limits.MaxConcurrentConnections;
        kestrel.Limits.MaxConcurrentUpgradedConnections = limits.MaxConcurrentConnections;
        kestrel.Limits.Http2.MaxStreamsPerConnection = limits.MaxStreamsPerConnection;
        kestrel.AllowAlternateSchemes = false;

        foreach (var endpoint in snapshot.GatewayEndpoints)
        {
            Listen(kestrel, endpoint, listen => ConfigureGateway(listen, state, time, expiry, metrics));
        }

        Listen(kestrel, snapshot.Management, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            if (snapshot.Management.IsTls)
            {
                listen.UseAdminTls(state, time, ConnectionLogger(listen));
            }

            listen.Use(next => connection =>
            {
                connection.Features.Set(ManagementConnectionFeature.Instance);
                return next(connection);
            });
        });

        // Loopback plain-HTTP listeners of tunnel edges (MtlsGate:Edges:NAME:Listen), after management.
        EdgeListeners.Configure(kestrel, state, time);
    }

    private static void Listen(KestrelServerOptions kestrel, ListenEndpoint endpoint, Action<ListenOptions> configure)
    {
        if (endpoint.Address is null)
        {
            kestrel.ListenLocalhost(endpoint.Port, configure);
        }
        else
        {
            kestrel.Listen(new IPEndPoint(endpoint.Address, endpoint.Port), configure);
        }
    }

    private static void ConfigureGateway(ListenOptions listen, GatewayState state, TimeProvider time, ExpiryMonitor expiry, GatewayMeter metrics)
    {
        // HTTP/1.1 and HTTP/2 only: HTTP/3's TLS path would not use our chain policy.
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = state.Current.Limits.HandshakeTimeout,
            OnConnection = context =>
            {
                var snapshot = state.Current;
                // SNI picks the host entry: its server certificate and trust store; else the top level.
                var host = snapshot.HostFor(context.ClientHelloInfo.ServerName);
                var store = host?.TrustStore ?? snapshot.ConnectionTrustStore ?? EmptyTrustStore.Instance;
                var feature = new ConnectionIdentityFeature(context.Connection, store, snapshot.RejectAtHandshake, time) { HostName = host?.Name, Edges = snapshot.Edges };
                context.Connection.Features.Set(feature);
                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = (host?.ServerCertificate ?? snapshot.ServerCertificate)!.Context,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ApplicationProtocols = Alpn,
                    CipherSuitesPolicy = Ciphers,
                    // Ask for the certificate in the handshake; a missing or bad one is judged by policy
                    // (shaped as a denial) unless RejectAtHandshake.
                    ClientCertificateRequired = true,
                    CertificateRevocationCheckMode = X509RevocationModeNoCheck,
                    CertificateChainPolicy = store.ChainPolicy,
                    RemoteCertificateValidationCallback = feature.OnRemoteCertificate,
                    AllowRenegotiation = false,
                });
            },
        });

        // After the handshake: settle the identity (resumed sessions may skip the callback).
        listen.Use(next => async connection =>
        {
            var feature = connection.Features.Get<ConnectionIdentityFeature>();
            var certificate = connection.Features.Get<ITlsConnectionFeature>()?.ClientCertificate;
            var accepted = feature is not null && feature.CompleteHandshake(certificate);
            metrics.RecordConnection(feature?.Identity.ChainVerdict ?? Policy.DenyReason.NoCertificate);
            if (!accepted)
            {
                connection.Abort(new ConnectionAbortedException("Client certificate refused at the handshake."));
                return;
            }

            // An edge (pinned certificate or address, MtlsGate:Edges) forwards its clients' certificates.
            if (!EdgeListeners.AttachToTlsConnection(connection, feature!, time, ConnectionLogger(listen)))
            {
                connection.Abort(new ConnectionAbortedException("Edge connection refused."));
                return;
            }

            expiry.ObserveClient(feature!.Identity);
            await next(connection).ConfigureAwait(false);

            // End the TLS session properly: Kestrel disposes the SslStream without a close_notify
            // alert, which OpenSSL 3 clients report as "unexpected eof" (and ab counts as failed).
            if (!feature.ClosedByPolicy && connection.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ISslStreamFeature>()?.SslStream is { } ssl)
            {
                try
                {
                    await ssl.ShutdownAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
                {
                    // The client went first; nothing left to say.
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    // OpenSSL "shutdown while in init": the client started a new handshake on an
                    // established session (TLS 1.2 renegotiation, refused by AllowRenegotiation = false,
                    // which made Kestrel's read fail and end the connection). Uncaught, this surfaced as
                    // Kestrel's "Unhandled exception" error with a stack trace, once per attempt.
                    Log.RenegotiationRefused(ConnectionLogger(listen), connection.ConnectionId, feature.Identity.Sha256Fingerprint);
                }
            }
        });
    }

    private static ILogger ConnectionLogger(ListenOptions listen) =>
        listen.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger("MtlsGate.Tls") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    private const System.Security.Cryptography.X509Certificates.X509RevocationMode X509RevocationModeNoCheck =
        System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
}

/// <summary>A trust store that trusts nothing: used when no policy needs a certificate.</summary>
internal static class EmptyTrustStore
{
    public static readonly TrustStore Instance = new("(none)", [], []);
}
