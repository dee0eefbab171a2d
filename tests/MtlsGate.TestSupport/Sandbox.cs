using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tls;

namespace MtlsGate.Tests.TestSupport;

/// <summary>A temporary folder holding one <see cref="TestPki"/> (root, server leaf, <see cref="TestPki.Good"/>, <see cref="TestPki.OtherRootLeaf"/>, <see cref="TestPki.Expired"/>) as PEM files and the configuration files written for it.</summary>
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
            sandbox.Write("server.pem", Pki.CertificatePem(pki.ServerLeaf));
            sandbox.Write("server.key", Pki.KeyPem(pki.ServerLeaf));
            WriteClient(sandbox.Client, pki.Good);
            WriteClient(sandbox.OtherClient, pki.OtherRootLeaf);
            WriteClient(sandbox.ExpiredClient, pki.Expired);
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
