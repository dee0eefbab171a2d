using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MtlsGate.Tls;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// A private PKI for mutual TLS between the gateway and a backend, generated per test (no key is
/// committed), written as files into <see cref="Folder"/>: the backend's server CA and certificates,
/// the CA the backend trusts for clients and two gateway client certificates (for rotation).
/// </summary>
public sealed class BackendPki : IDisposable
{
    public BackendPki()
    {
        ServerRoot = Pki.CreateRoot("CN=Backend Server CA");
        Server = Pki.Issue(ServerRoot, "CN=backend.test", new IssueOptions { ExtendedKeyUsages = [Pki.ServerAuthOid], DnsNames = ["backend.test"], IpAddresses = [IPAddress.Loopback] });
        ElsewhereServer = Pki.Issue(ServerRoot, "CN=elsewhere.test", new IssueOptions { ExtendedKeyUsages = [Pki.ServerAuthOid], DnsNames = ["elsewhere.test"] });
        WrongRoot = Pki.CreateRoot("CN=Not The Backend CA");
        ClientRoot = Pki.CreateRoot("CN=Gateway Client CA");
        Client1 = Pki.Issue(ClientRoot, "CN=gateway-client-1, O=MtlsGate");
        Client2 = Pki.Issue(ClientRoot, "CN=gateway-client-2, O=MtlsGate");
        File.WriteAllText(Path.Combine(Folder, "backend-ca.pem"), Pki.CertificatePem(ServerRoot));
        File.WriteAllText(Path.Combine(Folder, "wrong-ca.pem"), Pki.CertificatePem(WrongRoot));
        File.WriteAllText(Path.Combine(Folder, "backend-client-ca.pem"), Pki.CertificatePem(ClientRoot));
        WritePem("backend-server", Server);
        WritePem("elsewhere-server", ElsewhereServer);
        WritePem("client", Client1);
        File.WriteAllText(ClientCombined, Pki.CertificatePem(Client1) + Pki.KeyPem(Client1));
    }

    public string Folder { get; } = Directory.CreateTempSubdirectory("mtlsgate-backend-pki-").FullName;

    public X509Certificate2 ServerRoot { get; }
    public X509Certificate2 Server { get; }
    public X509Certificate2 ElsewhereServer { get; }
    public X509Certificate2 WrongRoot { get; }
    public X509Certificate2 ClientRoot { get; }
    public X509Certificate2 Client1 { get; }
    public X509Certificate2 Client2 { get; }

    public string PathOf(string name) => Path.Combine(Folder, name);

    /// <summary>client-combined.pem: the current client certificate and its key in one file (replaced atomically on rotation).</summary>
    public string ClientCombined => Path.Combine(Folder, "client-combined.pem");

    /// <summary>Writes NAME.pem and NAME.key.</summary>
    public void WritePem(string name, X509Certificate2 certificate)
    {
        File.WriteAllText(Path.Combine(Folder, name + ".pem"), Pki.CertificatePem(certificate));
        File.WriteAllText(Path.Combine(Folder, name + ".key"), Pki.KeyPem(certificate));
    }

    /// <summary>Replaces <see cref="ClientCombined"/> in one rename, so the reloader never sees a certificate with the other's key.</summary>
    public void RotateClientTo(X509Certificate2 certificate)
    {
        var temporary = ClientCombined + ".new";
        File.WriteAllText(temporary, Pki.CertificatePem(certificate) + Pki.KeyPem(certificate));
        File.Move(temporary, ClientCombined, overwrite: true);
    }

    /// <summary>Points the gateway's cluster <c>app</c> at <paramref name="backend"/> with a Backends entry (PEM client certificate and key, the backend CA).</summary>
    public void Configure(JsonObject config, Uri backend, string caBundle = "backend-ca.pem", Action<JsonObject>? entry = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config["ReverseProxy"]!["Clusters"]!["app"]!["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = backend.ToString() } };
        var backendEntry = new JsonObject
        {
            ["ClientCertificate"] = new JsonObject { ["Path"] = PathOf("client.pem"), ["KeyPath"] = PathOf("client.key") },
            ["CaBundle"] = PathOf(caBundle),
        };
        entry?.Invoke(backendEntry);
        config["MtlsGate"]!["Backends"] = new JsonObject { ["app"] = backendEntry };
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
