using System.Collections.ObjectModel;
using System.Globalization;
using System.Net.Http;
using System.Security.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace MtlsGate.Configuration;

/// <summary>
/// The routes and clusters of one snapshot, exactly the objects YARP is given: they reach YARP only
/// when their snapshot is swapped in, so routing never runs ahead of (or behind) the policies.
/// </summary>
public sealed record ProxySnapshot(IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ClusterConfig> Clusters)
{
    public static ProxySnapshot Empty { get; } = new([], []);
}

/// <summary>
/// Binds YARP's <c>ReverseProxy</c> section (routes and clusters) into YARP's own config records, as
/// part of the candidate configuration, instead of letting YARP read the section itself: YARP's
/// reader applies a change on its own (before, and regardless of, the gateway's compile), which is
/// what made a refused reload half-applied.
/// Reads what YARP's binder reads — microsoft/reverse-proxy
/// src/ReverseProxy/Configuration/ConfigProvider/ConfigurationConfigProvider.cs (CreateRoute,
/// CreateCluster and helpers) with the value parsers of ConfigurationReadingExtensions.cs (integers
/// invariant with a sign, TimeSpan in the "c" format, enums by name ignoring case) — but a value that
/// does not parse, an unknown key or a value where an object belongs is an error naming its key
/// instead of an exception, and every error is collected.
/// YARP's semantic checks (path patterns, policies, transforms, health checks…) run separately
/// through its public <see cref="IConfigValidator"/>: <see cref="ValidateAsync"/>.
/// </summary>
public static class ProxyConfigCompiler
{
    public const string SectionName = "ReverseProxy";

    /// <summary>
    /// Route metadata the compiler adds: a number unique to each compiled configuration. It makes
    /// every route of a new snapshot differ from the one it replaces, so YARP builds a new
    /// RouteModel for it (YARP keeps the old model, and its old RouteConfig object, for a route whose
    /// config compares equal: ProxyConfigManager.UpdateRuntimeRoutes / RouteModel.HasConfigChanged),
    /// and a request's RouteConfig always leads to the snapshot that built it.
    /// </summary>
    public const string GenerationMetadataKey = "MtlsGate.Generation";

    private static long s_generation;

    private static readonly string[] RouteKeys =
    [
        "ClusterId", "Match", "Order", "MaxRequestBodySize", "AuthorizationPolicy", "RateLimiterPolicy", "OutputCachePolicy",
        "TimeoutPolicy", "Timeout", "CorsPolicy", "Metadata", "Transforms",
    ];

    private static readonly string[] MatchKeys = ["Methods", "Hosts", "Path", "Headers", "QueryParameters"];
    private static readonly string[] MatcherKeys = ["Name", "Values", "Mode", "IsCaseSensitive"];

    private static readonly string[] ClusterKeys =
        ["Destinations", "LoadBalancingPolicy", "SessionAffinity", "HealthCheck", "HttpClient", "HttpRequest", "Metadata"];

    private static readonly string[] DestinationKeys = ["Address", "Health", "Metadata", "Host"];
    private static readonly string[] AffinityKeys = ["Enabled", "Policy", "FailurePolicy", "AffinityKeyName", "Cookie"];
    private static readonly string[] CookieKeys = ["Path", "SameSite", "HttpOnly", "MaxAge", "Domain", "IsEssential", "SecurePolicy", "Expiration"];
    private static readonly string[] HealthKeys = ["Passive", "Active", "AvailableDestinationsPolicy"];
    private static readonly string[] PassiveKeys = ["Enabled", "Policy", "ReactivationPeriod"];
    private static readonly string[] ActiveKeys = ["Enabled", "Interval", "Timeout", "Policy", "Path", "Query"];

    private static readonly string[] HttpClientKeys =
    [
        "SslProtocols", "DangerousAcceptAnyServerCertificate", "MaxConnectionsPerServer", "EnableMultipleHttp2Connections",
        "RequestHeaderEncoding", "ResponseHeaderEncoding", "WebProxy",
    ];

    private static readonly string[] WebProxyKeys = ["Address", "BypassOnLocal", "UseDefaultCredentials"];
    private static readonly string[] HttpRequestKeys = ["ActivityTimeout", "Version", "VersionPolicy", "AllowResponseBuffering"];

    /// <summary>Binds the <c>ReverseProxy</c> section; errors name their key (<c>ReverseProxy:Routes:ID:…</c>).</summary>
    public static ProxySnapshot Compile(IConfiguration configuration, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(errors);
        var section = configuration.GetSection(SectionName);
        Known(section, errors, "Routes", "Clusters");
        var generation = Interlocked.Increment(ref s_generation).ToString(CultureInfo.InvariantCulture);
        var clusters = Objects(section.GetSection("Clusters"), errors).Select(c => Cluster(c, errors)).ToList();
        var routes = Objects(section.GetSection("Routes"), errors).Select(r => Route(r, generation, errors)).ToList();
        return new ProxySnapshot(routes, clusters);
    }

    /// <summary>
    /// Runs the candidate's routes and clusters through YARP's own validator (the one YARP applies
    /// before taking a configuration: path patterns, transforms, load-balancing, affinity and health
    /// policies, authorization/CORS policy names…); every error is named under its route or cluster key.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ValidateAsync(IConfigValidator validator, ProxySnapshot proxy)
    {
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(proxy);
        var errors = new List<string>();
        foreach (var route in proxy.Routes)
        {
            foreach (var error in await validator.ValidateRouteAsync(route).ConfigureAwait(false))
            {
                errors.Add($"{SectionName}:Routes:{route.RouteId}: {error.Message}");
            }
        }

        foreach (var cluster in proxy.Clusters)
        {
            foreach (var error in await validator.ValidateClusterAsync(cluster).ConfigureAwait(false))
            {
                errors.Add($"{SectionName}:Clusters:{cluster.ClusterId}: {error.Message}");
            }
        }

        return errors;
    }

    private static RouteConfig Route(IConfigurationSection section, string generation, List<string> errors)
    {
        if (section["RouteId"] is not null)
        {
            // YARP's own message: routes are objects keyed by their id.
            errors.Add($"{section.Path}:RouteId: not allowed; the route id is the name of the route's object.");
        }

        Known(section, errors, [.. RouteKeys, "RouteId"]);
        var metadata = StringDictionary(section.GetSection(nameof(RouteConfig.Metadata)), errors) ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (metadata.ContainsKey(GenerationMetadataKey))
        {
            errors.Add($"{section.Path}:Metadata:{GenerationMetadataKey}: reserved for the gateway.");
        }

        metadata[GenerationMetadataKey] = generation;
        return new RouteConfig
        {
            RouteId = section.Key,
            Order = Int32(section, nameof(RouteConfig.Order), errors),
            MaxRequestBodySize = Int64(section, nameof(RouteConfig.MaxRequestBodySize), errors),
            ClusterId = Text(section, nameof(RouteConfig.ClusterId), errors),
            AuthorizationPolicy = Text(section, nameof(RouteConfig.AuthorizationPolicy), errors),
            RateLimiterPolicy = Text(section, nameof(RouteConfig.RateLimiterPolicy), errors),
            OutputCachePolicy = Text(section, nameof(RouteConfig.OutputCachePolicy), errors),
            TimeoutPolicy = Text(section, nameof(RouteConfig.TimeoutPolicy), errors),
            Timeout = Time(section, nameof(RouteConfig.Timeout), errors),
            CorsPolicy = Text(section, nameof(RouteConfig.CorsPolicy), errors),
            Metadata = new ReadOnlyDictionary<string, string>(metadata),
            Transforms = Transforms(section.GetSection(nameof(RouteConfig.Transforms)), errors),
            Match = Match(section.GetSection(nameof(RouteConfig.Match)), errors),
        };
    }

    private static Dictionary<string, string>[]? Transforms(IConfigurationSection section, List<string> errors)
    {
        var children = Objects(section, errors);
        return children.Count == 0 ? null : children.Select(t => StringDictionary(t, errors) ?? new(StringComparer.OrdinalIgnoreCase)).ToArray();
    }

    private static RouteMatch Match(IConfigurationSection section, List<string> errors)
    {
        if (!section.Exists())
        {
            return new RouteMatch();
        }

        Known(section, errors, MatchKeys);
        return new RouteMatch
        {
            Methods = StringArray(section.GetSection(nameof(RouteMatch.Methods)), errors),
            Hosts = StringArray(section.GetSection(nameof(RouteMatch.Hosts)), errors),
            Path = Text(section, nameof(RouteMatch.Path), errors),
            Headers = Matchers(section.GetSection(nameof(RouteMatch.Headers)), errors, header => new RouteHeader
            {
                Name = Text(header, nameof(RouteHeader.Name), errors)!,
                Values = StringArray(header.GetSection(nameof(RouteHeader.Values)), errors),
                Mode = EnumValue<HeaderMatchMode>(header, nameof(RouteHeader.Mode), errors) ?? HeaderMatchMode.ExactHeader,
                IsCaseSensitive = Bool(header, nameof(RouteHeader.IsCaseSensitive), errors) ?? false,
            }),
            QueryParameters = Matchers(section.GetSection(nameof(RouteMatch.QueryParameters)), errors, query => new RouteQueryParameter
            {
                Name = Text(query, nameof(RouteQueryParameter.Name), errors)!,
                Values = StringArray(query.GetSection(nameof(RouteQueryParameter.Values)), errors),
                Mode = EnumValue<QueryParameterMatchMode>(query, nameof(RouteQueryParameter.Mode), errors) ?? QueryParameterMatchMode.Exact,
                IsCaseSensitive = Bool(query, nameof(RouteQueryParameter.IsCaseSensitive), errors) ?? false,
            }),
        };
    }

    private static T[]? Matchers<T>(IConfigurationSection section, List<string> errors, Func<IConfigurationSection, T> create)
    {
        if (!section.Exists())
        {
            return null;
        }

        return Objects(section, errors).Select(child =>
        {
            Known(child, errors, MatcherKeys);
            return create(child);
        }).ToArray();
    }

    private static ClusterConfig Cluster(IConfigurationSection section, List<string> errors)
    {
        Known(section, errors, ClusterKeys);
        var destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var destination in Objects(section.GetSection(nameof(ClusterConfig.Destinations)), errors))
        {
            Known(destination, errors, DestinationKeys);
            destinations[destination.Key] = new DestinationConfig
            {
                Address = Text(destination, nameof(DestinationConfig.Address), errors)!,
                Health = Text(destination, nameof(DestinationConfig.Health), errors),
                Metadata = ReadOnly(StringDictionary(destination.GetSection(nameof(DestinationConfig.Metadata)), errors)),
                Host = Text(destination, nameof(DestinationConfig.Host), errors),
            };
        }

        return new ClusterConfig
        {
            ClusterId = section.Key,
            LoadBalancingPolicy = Text(section, nameof(ClusterConfig.LoadBalancingPolicy), errors),
            SessionAffinity = SessionAffinity(section.GetSection(nameof(ClusterConfig.SessionAffinity)), errors),
            HealthCheck = HealthCheck(section.GetSection(nameof(ClusterConfig.HealthCheck)), errors),
            HttpClient = HttpClient(section.GetSection(nameof(ClusterConfig.HttpClient)), errors),
            HttpRequest = HttpRequest(section.GetSection(nameof(ClusterConfig.HttpRequest)), errors),
            Metadata = ReadOnly(StringDictionary(section.GetSection(nameof(ClusterConfig.Metadata)), errors)),
            Destinations = destinations,
        };
    }

    private static SessionAffinityConfig? SessionAffinity(IConfigurationSection section, List<string> errors)
    {
        if (!section.Exists())
        {
            return null;
        }

        Known(section, errors, AffinityKeys);
        var cookie = section.GetSection(nameof(SessionAffinityConfig.Cookie));
        Known(cookie, errors, CookieKeys);
        return new SessionAffinityConfig
        {
            Enabled = Bool(section, nameof(SessionAffinityConfig.Enabled), errors),
            Policy = Text(section, nameof(SessionAffinityConfig.Policy), errors),
            FailurePolicy = Text(section, nameof(SessionAffinityConfig.FailurePolicy), errors),
            AffinityKeyName = Text(section, nameof(SessionAffinityConfig.AffinityKeyName), errors)!,
            Cookie = !cookie.Exists() ? null : new SessionAffinityCookieConfig
            {
                Path = Text(cookie, nameof(SessionAffinityCookieConfig.Path), errors),
                SameSite = EnumValue<SameSiteMode>(cookie, nameof(SessionAffinityCookieConfig.SameSite), errors),
                HttpOnly = Bool(cookie, nameof(SessionAffinityCookieConfig.HttpOnly), errors),
                MaxAge = Time(cookie, nameof(SessionAffinityCookieConfig.MaxAge), errors),
                Domain = Text(cookie, nameof(SessionAffinityCookieConfig.Domain), errors),
                IsEssential = Bool(cookie, nameof(SessionAffinityCookieConfig.IsEssential), errors),
                SecurePolicy = EnumValue<CookieSecurePolicy>(cookie, nameof(SessionAffinityCookieConfig.SecurePolicy), errors),
                Expiration = Time(cookie, nameof(SessionAffinityCookieConfig.Expiration), errors),
            },
        };
    }

    private static HealthCheckConfig? HealthCheck(IConfigurationSection section, List<string> errors)
    {
        if (!section.Exists())
        {
            return null;
        }

        Known(section, errors, HealthKeys);
        var passive = section.GetSection(nameof(HealthCheckConfig.Passive));
        var active = section.GetSection(nameof(HealthCheckConfig.Active));
        Known(passive, errors, PassiveKeys);
        Known(active, errors, ActiveKeys);
        return new HealthCheckConfig
        {
            Passive = !passive.Exists() ? null : new PassiveHealthCheckConfig
            {
                Enabled = Bool(passive, nameof(PassiveHealthCheckConfig.Enabled), errors),
                Policy = Text(passive, nameof(PassiveHealthCheckConfig.Policy), errors),
                ReactivationPeriod = Time(passive, nameof(PassiveHealthCheckConfig.ReactivationPeriod), errors),
            },
            Active = !active.Exists() ? null : new ActiveHealthCheckConfig
            {
                Enabled = Bool(active, nameof(ActiveHealthCheckConfig.Enabled), errors),
                Interval = Time(active, nameof(ActiveHealthCheckConfig.Interval), errors),
                Timeout = Time(active, nameof(ActiveHealthCheckConfig.Timeout), errors),
                Policy = Text(active, nameof(ActiveHealthCheckConfig.Policy), errors),
                Path = Text(active, nameof(ActiveHealthCheckConfig.Path), errors),
                Query = Text(active, nameof(ActiveHealthCheckConfig.Query), errors),
            },
            AvailableDestinationsPolicy = Text(section, nameof(HealthCheckConfig.AvailableDestinationsPolicy), errors),
        };
    }

    private static HttpClientConfig? HttpClient(IConfigurationSection section, List<string> errors)
    {
        if (!section.Exists())
        {
            return null;
        }

        Known(section, errors, HttpClientKeys);
        SslProtocols? sslProtocols = null;
        var protocols = section.GetSection(nameof(HttpClientConfig.SslProtocols));
        foreach (var protocol in StringArray(protocols, errors) ?? [])
        {
            if (ParseEnum<SslProtocols>(protocol) is { } parsed)
            {
                sslProtocols = sslProtocols is null ? parsed : sslProtocols | parsed;
            }
            else
            {
                errors.Add($"{protocols.Path}: '{protocol}' is not one of {string.Join(", ", System.Enum.GetNames<SslProtocols>())}.");
            }
        }

        var webProxy = section.GetSection(nameof(HttpClientConfig.WebProxy));
        Known(webProxy, errors, WebProxyKeys);
        return new HttpClientConfig
        {
            SslProtocols = sslProtocols,
            DangerousAcceptAnyServerCertificate = Bool(section, nameof(HttpClientConfig.DangerousAcceptAnyServerCertificate), errors),
            MaxConnectionsPerServer = Int32(section, nameof(HttpClientConfig.MaxConnectionsPerServer), errors),
            EnableMultipleHttp2Connections = Bool(section, nameof(HttpClientConfig.EnableMultipleHttp2Connections), errors),
            RequestHeaderEncoding = Text(section, nameof(HttpClientConfig.RequestHeaderEncoding), errors),
            ResponseHeaderEncoding = Text(section, nameof(HttpClientConfig.ResponseHeaderEncoding), errors),
            WebProxy = !webProxy.Exists() ? null : new WebProxyConfig
            {
                Address = AbsoluteUri(webProxy, nameof(WebProxyConfig.Address), errors),
                BypassOnLocal = Bool(webProxy, nameof(WebProxyConfig.BypassOnLocal), errors),
                UseDefaultCredentials = Bool(webProxy, nameof(WebProxyConfig.UseDefaultCredentials), errors),
            },
        };
    }

    private static ForwarderRequestConfig? HttpRequest(IConfigurationSection section, List<string> errors)
    {
        if (!section.Exists())
        {
            return null;
        }

        Known(section, errors, HttpRequestKeys);
        return new ForwarderRequestConfig
        {
            ActivityTimeout = Time(section, nameof(ForwarderRequestConfig.ActivityTimeout), errors),
            Version = HttpVersion(section, nameof(ForwarderRequestConfig.Version), errors),
            VersionPolicy = EnumValue<HttpVersionPolicy>(section, nameof(ForwarderRequestConfig.VersionPolicy), errors),
            AllowResponseBuffering = Bool(section, nameof(ForwarderRequestConfig.AllowResponseBuffering), errors),
        };
    }

    /// <summary>Refuses keys YARP does not read (a misspelt key would otherwise be silently ignored).</summary>
    private static void Known(IConfigurationSection section, List<string> errors, params string[] known)
    {
        if (section.Value is not null && !section.GetChildren().Any())
        {
            errors.Add($"{section.Path}: '{section.Value}' is a value where an object belongs.");
            return;
        }

        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{child.Path}: {ConfigSchema.UnknownKey(child.Key, known)}");
            }
        }
    }

    /// <summary>The children of a section that must hold objects (routes, clusters, destinations, transforms, matchers).</summary>
    private static List<IConfigurationSection> Objects(IConfigurationSection section, List<string> errors)
    {
        var objects = new List<IConfigurationSection>();
        if (section.Value is not null && !section.GetChildren().Any())
        {
            errors.Add($"{section.Path}: '{section.Value}' is a value where an object or array belongs.");
            return objects;
        }

        foreach (var child in section.GetChildren())
        {
            if (child.Value is not null && !child.GetChildren().Any())
            {
                errors.Add($"{child.Path}: '{child.Value}' is a value where an object belongs.");
                continue;
            }

            objects.Add(child);
        }

        return objects;
    }

    private static string? Text(IConfigurationSection section, string key, List<string> errors)
    {
        var child = section.GetSection(key);
        if (child.Value is null && child.GetChildren().Any())
        {
            errors.Add($"{child.Path}: an object or array where a text value belongs.");
        }

        return child.Value;
    }

    private static Dictionary<string, string>? StringDictionary(IConfigurationSection section, List<string> errors)
    {
        if (section.Value is not null && !section.GetChildren().Any())
        {
            errors.Add($"{section.Path}: '{section.Value}' is a value where an object of names and values belongs.");
            return null;
        }

        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var child in children)
        {
            values[child.Key] = Text(section, child.Key, errors) ?? "";
        }

        return values;
    }

    private static ReadOnlyDictionary<string, string>? ReadOnly(Dictionary<string, string>? values) =>
        values is null ? null : new ReadOnlyDictionary<string, string>(values);

    private static string[]? StringArray(IConfigurationSection section, List<string> errors)
    {
        if (section.Value is not null && !section.GetChildren().Any())
        {
            errors.Add($"{section.Path}: '{section.Value}' is a single value where an array belongs (write [\"{section.Value}\"]).");
            return null;
        }

        var children = section.GetChildren().ToList();
        return children.Count == 0 ? null : children.Select(c => Text(section, c.Key, errors) ?? "").ToArray();
    }

    private static int? Int32(IConfigurationSection section, string key, List<string> errors) =>
        Parse<int>(section, key, errors, "an integer", v => int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : (int?)null);

    private static long? Int64(IConfigurationSection section, string key, List<string> errors) =>
        Parse<long>(section, key, errors, "an integer", v => long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : (long?)null);

    private static bool? Bool(IConfigurationSection section, string key, List<string> errors) =>
        Parse<bool>(section, key, errors, "true or false", v => bool.TryParse(v, out var b) ? b : null);

    /// <summary>YARP reads durations in the constant ("c") format only: [d.]hh:mm:ss[.fffffff].</summary>
    private static TimeSpan? Time(IConfigurationSection section, string key, List<string> errors) =>
        Parse<TimeSpan>(section, key, errors, "a duration [d.]hh:mm:ss[.fffffff]", v => TimeSpan.TryParseExact(v, "c", CultureInfo.InvariantCulture, out var t) ? t : null);

    private static Uri? AbsoluteUri(IConfigurationSection section, string key, List<string> errors) =>
        ParseObject(section, key, errors, "an absolute URI", v => Uri.TryCreate(v, UriKind.Absolute, out var uri) ? uri : null);

    /// <summary>As YARP: "2" means 2.0; empty means unset.</summary>
    private static Version? HttpVersion(IConfigurationSection section, string key, List<string> errors) =>
        section[key] is "" ? null
        : ParseObject(section, key, errors, "an HTTP version (1.0, 1.1, 2 or 3)", v => Version.TryParse(v + (v.Contains('.', StringComparison.Ordinal) ? "" : ".0"), out var version) ? version : null);

    private static TEnum? EnumValue<TEnum>(IConfigurationSection section, string key, List<string> errors)
        where TEnum : struct, System.Enum =>
        Parse(section, key, errors, $"one of {string.Join(", ", System.Enum.GetNames<TEnum>())}", ParseEnum<TEnum>);

    /// <summary>By name only (ignoring case): a number would select whatever value it happens to be.</summary>
    private static TEnum? ParseEnum<TEnum>(string value)
        where TEnum : struct, System.Enum =>
        !value.Trim().All(c => char.IsAsciiDigit(c) || c is '-' or '+') && System.Enum.TryParse<TEnum>(value, ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed) ? parsed : null;

    private static T? Parse<T>(IConfigurationSection section, string key, List<string> errors, string expected, Func<string, T?> parse)
        where T : struct
    {
        if (Text(section, key, errors) is not { } value)
        {
            return null;
        }

        var parsed = parse(value);
        if (parsed is null)
        {
            errors.Add($"{section.Path}:{key}: '{value}' is not {expected}.");
        }

        return parsed;
    }

    private static T? ParseObject<T>(IConfigurationSection section, string key, List<string> errors, string expected, Func<string, T?> parse)
        where T : class
    {
        if (Text(section, key, errors) is not { } value)
        {
            return null;
        }

        var parsed = parse(value);
        if (parsed is null)
        {
            errors.Add($"{section.Path}:{key}: '{value}' is not {expected}.");
        }

        return parsed;
    }
}
