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

    /// <summary>
    /// Off Linux (macOS) the cipher restriction stays a policy. On Linux a policy would switch session
    /// resumption off, so the list comes from openssl-mtlsgate.cnf (Tls/OpenSslConfiguration.cs) and
    /// every connection's negotiated suite is checked after the handshake.
    /// </summary>
    private static readonly CipherSuitesPolicy? Ciphers = OperatingSystem.IsMacOS()
        ? new CipherSuitesPolicy(TlsSessionResumption.AllowedCipherSuites)
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

        ClaimSessionResumption(snapshot);
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
                var certificate = (host?.ServerCertificate ?? snapshot.ServerCertificate)!.Context;
                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = certificate,
                    // Resumable only for the host that owns this certificate's sessions (one per certificate).
                    AllowTlsResume = TlsSessionResumption.Claim(certificate, host?.Name ?? TlsSessionResumption.DefaultOwner),
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
            if (accepted && !TlsSessionResumption.IsAllowedCipherSuite(connection.Features.Get<ITlsHandshakeFeature>()?.NegotiatedCipherSuite))
            {
                // The list openssl-mtlsgate.cnf gives OpenSSL was not in force (e.g. an OPENSSL_CONF of the operator's own).
                Log.CipherSuiteRefused(ConnectionLogger(listen), connection.ConnectionId, connection.Features.Get<ITlsHandshakeFeature>()?.NegotiatedCipherSuite?.ToString() ?? "unknown");
                accepted = false;
            }

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

    /// <summary>
    /// Hands each certificate's sessions to one owner before the first connection, configured hosts
    /// first (by name), then the top-level default; later snapshots claim on first use.
    /// </summary>
    private static void ClaimSessionResumption(GatewaySnapshot snapshot)
    {
        foreach (var host in snapshot.Hosts.Values.OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            if ((host.ServerCertificate ?? snapshot.ServerCertificate) is { } certificate)
            {
                TlsSessionResumption.Claim(certificate.Context, host.Name);
            }
        }

        if (snapshot.ServerCertificate is { } top)
        {
            TlsSessionResumption.Claim(top.Context, TlsSessionResumption.DefaultOwner);
        }
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
