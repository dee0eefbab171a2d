using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Management;

/// <summary>The admin who opened a TLS management connection (set only once the certificate was accepted).</summary>
public sealed record AdminConnectionFeature(string Subject, string Sha256);

/// <summary>
/// An <c>https://</c> management listener: TLS with the gateway's server certificate, and a client
/// certificate that chains to the <c>Default</c> trust store (the gateway's own validator) and matches
/// <c>MtlsGate:Management:Admins</c>, required in the handshake. Anyone else's handshake fails: no
/// request, no page, no password prompt. Admins and trust material are read from the current snapshot
/// at every handshake (a reload applies to new connections).
/// </summary>
public static class AdminTls
{
    public static void UseAdminTls(this ListenOptions listen, GatewayState state, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(time);
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = state.Current.Limits.HandshakeTimeout,
            OnConnection = context =>
            {
                var snapshot = state.Current;
                var admins = snapshot.ManagementAdmins;
                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = snapshot.ServerCertificate!.Context,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ApplicationProtocols = [SslApplicationProtocol.Http11],
                    ClientCertificateRequired = true,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    CertificateChainPolicy = admins?.TrustStore.ChainPolicy,
                    RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                        certificate is X509Certificate2 leaf && chain is not null && admins is not null
                        && IsAdmin(admins, ChainValidator.Judge(admins.TrustStore, chain, leaf, time.GetUtcNow()), leaf),
                    AllowRenegotiation = false,
                });
            },
        });

        // A resumed TLS session can skip the callback and still carry the first session's certificate
        // (SECURITY.md, "TLS session resumption"): judge it again, against the current admins.
        listen.Use(next => connection =>
        {
            var certificate = connection.Features.Get<ITlsConnectionFeature>()?.ClientCertificate;
            var admins = state.Current.ManagementAdmins;
            if (certificate is null || admins is null || !IsAdmin(admins, ChainValidator.Judge(admins.TrustStore, certificate, null, time.GetUtcNow()), certificate))
            {
                Log.AdminCertificateRefused(logger, connection.ConnectionId, certificate is null ? "-" : Text.Fingerprint.Sha256(certificate));
                connection.Abort(new ConnectionAbortedException("Not an admin certificate."));
                return Task.CompletedTask;
            }

            var identity = new ClientIdentity(certificate, DenyReason.None);
            connection.Features.Set(new AdminConnectionFeature(identity.EncodedSubject, identity.Sha256Fingerprint));
            return next(connection);
        });
    }

    private static bool IsAdmin(ManagementAdmins admins, ChainJudgement judgement, X509Certificate2 leaf) =>
        judgement.Reason == DenyReason.None && admins.Identities.Matches(new ClientIdentity(leaf, judgement.Reason, judgement.ValidUntil));
}
