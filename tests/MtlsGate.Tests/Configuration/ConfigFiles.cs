using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using MtlsGate.Configuration;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Configuration;

/// <summary>
/// A temporary folder with generated PKI files (no key is committed) and a compile of a JSON
/// configuration through the production JSON provider, so shapes ({} vs [] vs null) are the real ones.
/// Files: ca.pem (test root + intermediate), other-ca.pem (the other root), server.pem/.key,
/// vault.pem/.key and other.pem/.key (server certificates for vault.test and other.test).
/// </summary>
public sealed class ConfigFiles : IDisposable
{
    public ConfigFiles()
    {
        var pki = TestPki.Instance;
        File.WriteAllText(Path.Combine(Folder, "ca.pem"), pki.CaBundlePem);
        File.WriteAllText(Path.Combine(Folder, "other-ca.pem"), MtlsGate.Tls.Pki.CertificatePem(pki.OtherRoot));
        TwoHosts.WritePem(Folder, "server", pki.ServerLeaf);
        TwoHosts.WritePem(Folder, "vault", pki.ServerLeaf);
        TwoHosts.WritePem(Folder, "other", pki.ServerLeaf);
    }

    public string Folder { get; } = Directory.CreateTempSubdirectory("mtlsgate-cfg-").FullName;

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    /// <summary>The smallest valid configuration: one trust store, one catch-all route without policy.</summary>
    public static JsonObject Minimal() => new()
    {
        ["MtlsGate"] = new JsonObject
        {
            ["Listen"] = new JsonObject { ["Gateway"] = "https://127.0.0.1:0", ["Management"] = "http://127.0.0.1:0" },
            ["ServerCertificate"] = new JsonObject { ["Path"] = "server.pem", ["KeyPath"] = "server.key" },
            ["TrustStores"] = new JsonObject { ["Default"] = new JsonObject { ["CaBundle"] = "ca.pem" } },
        },
        ["ReverseProxy"] = new JsonObject
        {
            ["Routes"] = new JsonObject { ["app"] = new JsonObject { ["ClusterId"] = "app", ["Match"] = new JsonObject { ["Path"] = "{**catch-all}" } } },
            ["Clusters"] = new JsonObject { ["app"] = new JsonObject { ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = "http://127.0.0.1:8080" } } } },
        },
    };

    /// <summary>
    /// Two hosts: vault.test on the Default trust store, other.test with its own trust store (Other)
    /// and policy; an admin route for vault.test only (allow-list), a public route, and the catch-all.
    /// </summary>
    public static JsonObject TwoHostsWithAllowList()
    {
        var config = Minimal();
        var gate = config["MtlsGate"]!.AsObject();
        gate["TrustStores"]!["Other"] = new JsonObject { ["CaBundle"] = "other-ca.pem" };
        gate["Mode"] = "Enforce";
        gate["Policies"] = JsonNode.Parse("""
            {
              "Default": { "TrustStore": "Default", "Require": "Certificate", "Mode": "Enforce",
                           "Identities": { "SubjectCommonNames": ["good-device", "good-via-intermediate"], "Organizations": ["Home"] },
                           "BypassNetworks": ["192.168.1.0/24"],
                           "DenyByReason": { "Revoked": { "Action": "Close" } } },
              "Admins": { "TrustStore": "Default", "Identities": { "SubjectCommonNames": ["good-device"] } },
              "OtherDevices": { "TrustStore": "Other", "Require": "Certificate", "BypassNetworks": ["192.168.1.0/24"] },
              "Public": { "Require": "None" }
            }
            """);
        gate["Hosts"] = JsonNode.Parse("""
            {
              "vault.test": { "ServerCertificate": { "Path": "vault.pem", "KeyPath": "vault.key" }, "TrustStore": "Default" },
              "other.test": { "ServerCertificate": { "Path": "other.pem", "KeyPath": "other.key" }, "TrustStore": "Other", "Policy": "OtherDevices" }
            }
            """);
        var routes = config["ReverseProxy"]!["Routes"]!.AsObject();
        routes["admin"] = JsonNode.Parse("""{ "ClusterId": "app", "Match": { "Path": "/admin/{**rest}", "Hosts": ["vault.test"] }, "Metadata": { "MtlsGate.Policy": "Admins" } }""");
        routes["send"] = JsonNode.Parse("""{ "ClusterId": "app", "Match": { "Path": "/api/sends/access/{**rest}" }, "Metadata": { "MtlsGate.Policy": "Public" } }""");
        return config;
    }

    public (GatewaySnapshot? Snapshot, IReadOnlyList<string> Errors) Compile(JsonNode config, CompileScope scope = CompileScope.Server) =>
        ConfigCompiler.Compile(Load(config), Folder, scope);

    public static IConfigurationRoot Load(JsonNode config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(config.ToJsonString()))).Build();
    }
}
