using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tls;

namespace MtlsGate.Tests.BlackBox;

/// <summary>A throwaway PKI made fresh for a fixture (no key is ever committed).</summary>
public sealed class TestPki : IDisposable
{
    private TestPki(X509Certificate2 root, X509Certificate2 server, X509Certificate2 client, X509Certificate2 otherRoot, X509Certificate2 otherClient, X509Certificate2 expiredClient)
    {
        Root = root;
        Server = server;
        Client = client;
        OtherRoot = otherRoot;
        OtherClient = otherClient;
        ExpiredClient = expiredClient;
    }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Server { get; }

    public X509Certificate2 Client { get; }

    /// <summary>A CA the gateway does not trust, and a client certificate it issued.</summary>
    public X509Certificate2 OtherRoot { get; }

    public X509Certificate2 OtherClient { get; }

    /// <summary>Issued by <see cref="Root"/>, expired yesterday.</summary>
    public X509Certificate2 ExpiredClient { get; }

    public static TestPki Create()
    {
        var root = Pki.CreateRoot("CN=BlackBox Test Root, O=MtlsGate tests");
        var server = IssueServer(root);
        var client = Pki.Issue(root, "CN=blackbox-phone, O=MtlsGate tests");
        var otherRoot = Pki.CreateRoot("CN=BlackBox Other Root, O=Someone else");
        var otherClient = Pki.Issue(otherRoot, "CN=stranger, O=Someone else");
        var expired = Pki.Issue(root, "CN=expired-phone, O=MtlsGate tests", new IssueOptions
        {
            NotBefore = DateTimeOffset.UtcNow.AddDays(-30),
            NotAfter = DateTimeOffset.UtcNow.AddDays(-1),
        });
        return new TestPki(root, server, client, otherRoot, otherClient, expired);
    }

    public static X509Certificate2 IssueServer(X509Certificate2 issuer) =>
        Pki.Issue(issuer, "CN=localhost", new IssueOptions
        {
            ExtendedKeyUsages = [Pki.ServerAuthOid],
            DnsNames = ["localhost"],
            IpAddresses = [IPAddress.Loopback, IPAddress.IPv6Loopback],
        });

    /// <summary>The SHA-256 fingerprint as the gateway forwards it: lowercase hex of the DER.</summary>
    public static string Fingerprint(X509Certificate2 certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    public void Dispose()
    {
        Root.Dispose();
        Server.Dispose();
        Client.Dispose();
        OtherRoot.Dispose();
        OtherClient.Dispose();
        ExpiredClient.Dispose();
    }
}

/// <summary>A temporary folder holding one PKI as PEM files and the configuration files written for it.</summary>
public sealed class Sandbox : IDisposable
{
    private Sandbox(string directory) => Directory = directory;

    public string Directory { get; }

    public string CaPem => Path.Combine(Directory, "ca.pem");

    public string ServerPem => Path.Combine(Directory, "server.pem");

    public string ServerKey => Path.Combine(Directory, "server.key");

    public ClientFiles Client => new(Path.Combine(Directory, "client.pem"), Path.Combine(Directory, "client.key"));

    public ClientFiles OtherClient => new(Path.Combine(Directory, "other-client.pem"), Path.Combine(Directory, "other-client.key"));

    public ClientFiles ExpiredClient => new(Path.Combine(Directory, "expired-client.pem"), Path.Combine(Directory, "expired-client.key"));

    public static Sandbox Create(TestPki? pki = null)
    {
        var sandbox = new Sandbox(System.IO.Directory.CreateTempSubdirectory("mtlsgate-bb-").FullName);
        if (pki is not null)
        {
            sandbox.Write("ca.pem", Pki.CertificatePem(pki.Root));
            sandbox.Write("server.pem", Pki.CertificatePem(pki.Server));
            sandbox.Write("server.key", Pki.KeyPem(pki.Server));
            WriteClient(sandbox.Client, pki.Client);
            WriteClient(sandbox.OtherClient, pki.OtherClient);
            WriteClient(sandbox.ExpiredClient, pki.ExpiredClient);
        }

        return sandbox;
    }

    public string Write(string name, string text)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    public string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public static void WriteClient(ClientFiles files, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(files);
        File.WriteAllText(files.Certificate, Pki.CertificatePem(certificate));
        File.WriteAllText(files.Key, Pki.KeyPem(certificate));
    }

    /// <summary>Writes the configuration as <c>gateway.json</c> (or <paramref name="name"/>) and returns its path.</summary>
    public string WriteConfig(System.Text.Json.Nodes.JsonObject config, string name = "gateway.json") =>
        Write(name, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A client certificate and its key as PEM files.</summary>
public sealed record ClientFiles(string Certificate, string Key);
