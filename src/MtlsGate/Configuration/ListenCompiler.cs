using System.Net;
using Microsoft.Extensions.Configuration;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Listen</c>: the gateway URLs (one or an array) and the management URL.</summary>
public static class ListenCompiler
{
    public static (IReadOnlyList<ListenEndpoint> Gateway, ListenEndpoint? Management) Compile(ListenSection options, IConfigurationSection raw, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(errors);
        var gateway = CompileGatewayUrls(raw.GetSection(nameof(ListenSection.Gateway)), errors);
        // https:// serves the management listener over TLS with an admin client certificate (ManagementCompiler.Admins).
        var managementScheme = options.Management.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
        var management = CompileUrl(options.Management, $"{raw.Path}:{nameof(ListenSection.Management)}", managementScheme, errors);
        if (management is { Address: { } address } && !IPAddress.IsLoopback(address) && !options.AllowRemoteManagement)
        {
            errors.Add($"{raw.Path}:{nameof(ListenSection.Management)}", $"'{management.Url}' is not a loopback address; the management listener (health, metrics) has no authentication, so exposing it must be explicit: set {raw.Path}:{nameof(ListenSection.AllowRemoteManagement)}: true.");
        }

        return (gateway, management);
    }

    private static List<ListenEndpoint> CompileGatewayUrls(IConfigurationSection section, ConfigErrors errors)
    {
        var urls = new List<(string Key, string Url)>();
        if (section.Value is { } single)
        {
            urls.Add((section.Path, single));
        }
        else
        {
            foreach (var child in section.GetChildren())
            {
                urls.Add((child.Path, child.Value ?? ""));
            }
        }

        if (urls.Count == 0)
        {
            urls.Add((section.Path, ListenSection.DefaultGateway));
        }

        var endpoints = new List<ListenEndpoint>();
        foreach (var (key, url) in urls)
        {
            if (CompileUrl(url, key, "https", errors) is { } endpoint)
            {
                endpoints.Add(endpoint);
            }
        }

        return endpoints;
    }

    private static ListenEndpoint? CompileUrl(string url, string key, string scheme, ConfigErrors errors)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            || uri.Scheme != scheme || uri.AbsolutePath != "/" || uri.Query.Length != 0)
        {
            errors.Add(key, $"'{url}' is not a valid listen URL; expected {scheme}://ADDRESS:PORT (e.g. {(scheme == "https" ? ListenSection.DefaultGateway : ListenSection.DefaultManagement)}).");
            return null;
        }

        if (uri.IsDefaultPort && !url.Contains($":{uri.Port}", StringComparison.Ordinal))
        {
            errors.Add(key, $"'{url}' has no port; give one explicitly (0 picks a free port).");
            return null;
        }

        IPAddress? address;
        if (uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns)
        {
            address = null; // "localhost": both loopback families
        }
        else if (!IPAddress.TryParse(uri.Host.Trim('[', ']'), out address))
        {
            errors.Add(key, $"'{url}' must name an IP address or localhost (a host name would need a DNS lookup at start-up).");
            return null;
        }

        return new ListenEndpoint(url, address, uri.Port);
    }
}
