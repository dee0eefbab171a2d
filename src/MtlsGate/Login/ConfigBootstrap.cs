using System.Text.Json;
using System.Text.Json.Nodes;

namespace MtlsGate.Login;

/// <summary>
/// The Bitwarden server's <c>communication</c> block, injected into the backend's <c>/api/config</c>
/// (Vaultwarden sends <c>"communication": null</c>, src/api/core/mod.rs). Shape and names from
/// bitwarden/server src/Api/Models/Response/ConfigResponseModel.cs (camelCase on the wire, as Android's
/// network/.../model/ConfigResponseJson.kt expects; <c>type</c> is compared case-sensitively there).
/// Everything else the backend said stays as it was, <c>environment.vault</c> included (the SDK opens
/// the browser from it).
/// </summary>
public static class ConfigBootstrap
{
    /// <summary>Largest <c>/api/config</c> body buffered to inject (Vaultwarden's is about 2 KiB).</summary>
    public const int MaxBytes = 256 * 1024;

    /// <summary>The body with the bootstrap, or null (and why) when it is not a JSON object.</summary>
    public static byte[]? Inject(ReadOnlySpan<byte> body, string host, string loginUrl, string cookieName, out string? problem)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            problem = "the backend's body is not JSON: " + ex.Message;
            return null;
        }

        if (node is not JsonObject config)
        {
            problem = "the backend's body is not a JSON object";
            return null;
        }

        // Any existing spelling of the key goes (a backend that sends "Communication" would leave two).
        foreach (var key in config.Select(p => p.Key).Where(k => k.Equals("communication", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            config.Remove(key);
        }

        config["communication"] = new JsonObject
        {
            ["bootstrap"] = new JsonObject
            {
                ["type"] = "ssoCookieVendor",
                ["idpLoginUrl"] = loginUrl,
                ["cookieName"] = cookieName,
                ["cookieDomain"] = host,
            },
        };
        problem = null;
        return JsonSerializer.SerializeToUtf8Bytes(config);
    }
}
