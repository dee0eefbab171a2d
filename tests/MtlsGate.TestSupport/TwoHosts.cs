using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace MtlsGate.Tests.TestSupport;

/// <summary>Two hosts on one listener: a.test trusts the test root; b.test trusts only the other root (own trust store and policy).</summary>
public static class TwoHosts
{
    private static readonly TestPki Pki = TestPki.Instance;

    public static async Task<TestGateway> StartAsync(string folder, Action<JsonObject>? more = null)
    {
        WritePem(folder, "a", MtlsGate.Tls.Pki.Issue(Pki.Root, "CN=a.test", new MtlsGate.Tls.IssueOptions { ExtendedKeyUsages = [MtlsGate.Tls.Pki.ServerAuthOid], DnsNames = ["a.test"] }));
        WritePem(folder, "b", MtlsGate.Tls.Pki.Issue(Pki.Root, "CN=b.test", new MtlsGate.Tls.IssueOptions { ExtendedKeyUsages = [MtlsGate.Tls.Pki.ServerAuthOid], DnsNames = ["b.test"] }));
        File.WriteAllText(Path.Combine(folder, "other-ca.pem"), MtlsGate.Tls.Pki.CertificatePem(Pki.OtherRoot));
        return await TestGateway.StartAsync(config =>
        {
            var gate = config["MtlsGate"]!.AsObject();
            gate["TrustStores"]!["Other"] = new JsonObject { ["CaBundle"] = Path.Combine(folder, "other-ca.pem") };
            gate["Policies"] = new JsonObject { ["OtherDevices"] = new JsonObject { ["TrustStore"] = "Other" } };
            gate["Hosts"] = new JsonObject
            {
                ["a.test"] = new JsonObject { ["ServerCertificate"] = new JsonObject { ["Path"] = Path.Combine(folder, "a.pem"), ["KeyPath"] = Path.Combine(folder, "a.key") } },
                ["b.test"] = new JsonObject
                {
                    ["ServerCertificate"] = new JsonObject { ["Path"] = Path.Combine(folder, "b.pem"), ["KeyPath"] = Path.Combine(folder, "b.key") },
                    ["TrustStore"] = "Other",
                    ["Policy"] = "OtherDevices",
                },
            };
            config["ReverseProxy"]!["Routes"]!["app"]!.AsObject().Remove("Metadata");
            more?.Invoke(config);
        });
    }

    public static void WritePem(string folder, string name, X509Certificate2 certificate)
    {
        File.WriteAllText(Path.Combine(folder, name + ".pem"), MtlsGate.Tls.Pki.CertificatePem(certificate));
        File.WriteAllText(Path.Combine(folder, name + ".key"), MtlsGate.Tls.Pki.KeyPem(certificate));
    }

    /// <summary>
    /// A client that resolves every name to 127.0.0.1 and sends the URL's host as SNI (so a.test and
    /// b.test reach the one gateway as two hosts); with <paramref name="version"/>, exactly that HTTP version.
    /// </summary>
    public static HttpClient NamedClient(TestGateway gateway, X509Certificate2? certificate, Version? version = null)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        var port = gateway.GatewayUri.Port;
        var tls = TestGateway.ClientTls(certificate);
        tls.TargetHost = null;
        var handler = new SocketsHttpHandler
        {
            SslOptions = tls,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return version is null
            ? new HttpClient(handler)
            : new HttpClient(handler) { DefaultRequestVersion = version, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
    }
}
