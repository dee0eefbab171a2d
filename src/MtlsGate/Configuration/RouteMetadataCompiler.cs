using Microsoft.Extensions.Configuration;

namespace MtlsGate.Configuration;

/// <summary>
/// The gateway's own keys in a YARP route's <c>Metadata</c> besides the policy name:
/// <c>MtlsGate.AllowEncodedSlashes</c>. YARP itself reads the route; the gateway reads these from the
/// matched route at request time, so they reload with it.
/// </summary>
public static class RouteMetadataCompiler
{
    /// <summary>
    /// <c>"true"</c>: this route's requests may carry <c>%2F</c> in the path, forwarded as <c>%2F</c>.
    /// Default false (400). Only for backends that need it (e.g. names with slashes in one segment):
    /// a backend that decodes <c>%2F</c> before routing sees a path the gateway's router did not.
    /// </summary>
    public const string AllowEncodedSlashesKey = "MtlsGate.AllowEncodedSlashes";

    /// <summary>Reports a value other than true/false, naming the key.</summary>
    public static void Validate(IConfigurationSection route, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(errors);
        var value = route[$"Metadata:{AllowEncodedSlashesKey}"];
        if (value is not null && !value.Equals("true", StringComparison.OrdinalIgnoreCase) && !value.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{route.Path}:Metadata:{AllowEncodedSlashesKey}", $"'{value}' is not one of true, false.");
        }
    }

    /// <summary>True only for an explicit true (the compiler refuses anything but true/false).</summary>
    public static bool AllowsEncodedSlashes(IReadOnlyDictionary<string, string>? metadata) =>
        metadata is not null && metadata.TryGetValue(AllowEncodedSlashesKey, out var value) && value.Equals("true", StringComparison.OrdinalIgnoreCase);
}
