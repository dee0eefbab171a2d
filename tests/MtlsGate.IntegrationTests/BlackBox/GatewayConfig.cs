using System.Text.Json.Nodes;

namespace MtlsGate.Tests.BlackBox;

/// <summary>Gateway configuration files in the public contract's shape (layered over the published appsettings.json).</summary>
public static class GatewayConfig
{
    /// <summary>Free ports, files relative to the configuration file, route <c>app</c> → the backend.</summary>
    public static JsonObject Default(Uri backend, string management = "http://127.0.0.1:0")
    {
        ArgumentNullException.ThrowIfNull(backend);
        return new JsonObject
        {
            ["MtlsGate"] = new JsonObject
            {
                ["Listen"] = new JsonObject
                {
                    ["Gateway"] = "https://127.0.0.1:0",
                    ["Management"] = management,
                },
                ["ServerCertificate"] = new JsonObject { ["Path"] = "server.pem", ["KeyPath"] = "server.key" },
                ["TrustStores"] = new JsonObject { ["Default"] = new JsonObject { ["CaBundle"] = "ca.pem" } },
                // Beside the configuration file: never /var/lib/mtlsgate (the tests run as root in CI).
                ["StateDirectory"] = "state",
                ["Policies"] = new JsonObject
                {
                    ["Default"] = new JsonObject
                    {
                        ["TrustStore"] = "Default",
                        ["Deny"] = new JsonObject { ["Status"] = 404, ["Body"] = "Not Found", ["ContentType"] = "text/plain" },
                    },
                },
            },
            ["ReverseProxy"] = new JsonObject
            {
                ["Routes"] = new JsonObject
                {
                    ["app"] = new JsonObject
                    {
                        ["ClusterId"] = "app",
                        ["Match"] = new JsonObject { ["Path"] = "{**catch-all}" },
                        ["Metadata"] = new JsonObject { ["MtlsGate.Policy"] = "Default" },
                    },
                },
                ["Clusters"] = new JsonObject
                {
                    ["app"] = new JsonObject
                    {
                        ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = backend.ToString() } },
                    },
                },
            },
        };
    }

    public static JsonObject Gate(this JsonObject config) => (JsonObject)config["MtlsGate"]!;

    public static JsonObject WithDeny(this JsonObject config, JsonObject deny)
    {
        config.Gate()["Policies"]!["Default"]!["Deny"] = deny;
        return config;
    }

    public static JsonObject WithRejectAtHandshake(this JsonObject config)
    {
        config.Gate()["Tls"] = new JsonObject { ["RejectAtHandshake"] = true };
        return config;
    }

    public static JsonObject WithServerCertificate(this JsonObject config, JsonObject serverCertificate)
    {
        config.Gate()["ServerCertificate"] = serverCertificate;
        return config;
    }

    public static JsonObject WithCaBundle(this JsonObject config, string path)
    {
        config.Gate()["TrustStores"]!["Default"]!["CaBundle"] = path;
        return config;
    }
}
