using System.Text.Json;
using System.Text.Json.Nodes;
using MtlsGate.Configuration;

namespace MtlsGate.Cli;

/// <summary>
/// The smallest complete configuration in the public contract's shape: listeners, server
/// certificate, the Default trust store (with optional CRLs) and one catch-all route to one backend
/// without policy metadata (the Default policy, or a host's own). <c>init</c> writes it, <c>demo</c> runs it, tests start from it.
/// </summary>
public static class StarterConfig
{
    /// <summary>The starter's state directory: relative, so beside the configuration file (never /var/lib for a demo, a test or an <c>init</c> folder).</summary>
    public const string StateDirectory = "state";

    public static JsonObject Build(string gatewayUrl, string managementUrl, Uri backend, string serverPem = "server.pem", string serverKey = "server.key",
        string caBundle = "ca.pem", IReadOnlyList<string>? crls = null, string stateDirectory = StateDirectory)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var trustStore = new JsonObject { ["CaBundle"] = caBundle };
        if (crls is { Count: > 0 })
        {
            trustStore["Crls"] = new JsonArray(crls.Select(c => (JsonNode)JsonValue.Create(c)).ToArray());
        }

        return new JsonObject
        {
            ["MtlsGate"] = new JsonObject
            {
                ["Listen"] = new JsonObject { ["Gateway"] = gatewayUrl, ["Management"] = managementUrl },
                ["ServerCertificate"] = new JsonObject { ["Path"] = serverPem, ["KeyPath"] = serverKey },
                ["TrustStores"] = new JsonObject { [GatewaySnapshot.DefaultName] = trustStore },
                ["StateDirectory"] = stateDirectory,
            },
            ["ReverseProxy"] = new JsonObject
            {
                ["Routes"] = new JsonObject
                {
                    ["app"] = new JsonObject
                    {
                        ["ClusterId"] = "app",
                        ["Match"] = new JsonObject { ["Path"] = "{**catch-all}" },
                    },
                },
                ["Clusters"] = new JsonObject
                {
                    ["app"] = new JsonObject
                    {
                        ["HttpRequest"] = new JsonObject { ["ActivityTimeout"] = "00:10:00" },
                        ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = backend.ToString() } },
                    },
                },
            },
        };
    }

    public static string ToText(JsonObject config) =>
        (config ?? throw new ArgumentNullException(nameof(config))).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
}
