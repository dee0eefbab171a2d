using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MtlsGate.Tests.Login;

/// <summary>
/// A gateway configured with the README's Vaultwarden routes block (the "Login and the Bitwarden apps"
/// section, between its markers) in front of the Vaultwarden-like <see cref="Destination"/>, plus
/// clients shaped like the Bitwarden apps and a browser.
/// </summary>
internal static partial class LoginGateway
{
    public const string CookieName = "mtlsgate_session";

    /// <summary>The README's preset (policies and routes), with the test's backend as the cluster's destination.</summary>
    public static JsonObject ReadmePreset()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var match = PresetBlock().Match(readme);
        Assert.True(match.Success, "README.md has no ```jsonc block between <!-- vaultwarden-preset --> and <!-- /vaultwarden-preset -->.");
        var json = string.Join("\n", match.Groups[1].Value.Split('\n').Select(l => Regex.Replace(l, @"\s//.*$", "")));
        return JsonNode.Parse(json)!.AsObject();
    }

    [GeneratedRegex(@"<!-- vaultwarden-preset -->\s*```jsonc?\n(.*?)```\s*<!-- /vaultwarden-preset -->", RegexOptions.Singleline)]
    private static partial Regex PresetBlock();

    private static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "MtlsGate.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>Starts the gateway with the README preset; <paramref name="login"/> replaces its Login section (the README's names a real IdP).</summary>
    public static Task<TestGateway> StartAsync(JsonObject? login = null, Action<JsonObject>? configure = null) =>
        TestGateway.StartAsync(config =>
        {
            var preset = ReadmePreset();
            var gate = config["MtlsGate"]!.AsObject();
            var presetGate = preset["MtlsGate"]!.AsObject();
            gate["Policies"] = presetGate["Policies"]!.DeepClone();
            gate["Login"] = login ?? new JsonObject { ["BitwardenApps"] = true };
            var backend = config["ReverseProxy"]!["Clusters"]!["app"]!["Destinations"]!["d1"]!["Address"]!.GetValue<string>();
            var proxy = preset["ReverseProxy"]!.DeepClone().AsObject();
            foreach (var cluster in proxy["Clusters"]!.AsObject())
            {
                foreach (var destination in cluster.Value!["Destinations"]!.AsObject())
                {
                    destination.Value!["Address"] = backend;
                }
            }

            config["ReverseProxy"] = proxy;
            configure?.Invoke(config);
        });

    /// <summary>
    /// A client like the Bitwarden apps' OkHttp/URLSession: redirects NOT followed (Android's
    /// CookieInterceptor is a network interceptor and sees the raw 302), no cookie jar (the app sends the
    /// vendor's cookies itself), JSON Accept, no fetch metadata.
    /// </summary>
    public static HttpClient App(TestGateway gateway, X509Certificate2? certificate = null)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            SslOptions = TestGateway.ClientTls(certificate),
        };
        var client = new HttpClient(handler) { BaseAddress = gateway.GatewayUri, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        return client;
    }

    /// <summary>A browser-like client: its own cookie jar, redirects not followed (each hop is asserted), navigation metadata.</summary>
    public static HttpClient Browser(TestGateway gateway, X509Certificate2? certificate, CookieContainer jar)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = true,
            CookieContainer = jar,
            SslOptions = TestGateway.ClientTls(certificate),
        };
        var client = new HttpClient(handler) { BaseAddress = gateway.GatewayUri, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        client.DefaultRequestHeaders.Add("Sec-Fetch-Mode", "navigate");
        return client;
    }

    /// <summary>
    /// The callback parsing of the apps: scheme <c>bitwarden</c>, host <c>sso-cookie-vendor</c>, every query
    /// parameter but <c>d</c>, percent-decoded (Android app/.../auth/repository/util/CookieUtils.kt;
    /// iOS ServerCommunicationConfigAPIService.swift reads URLComponents query items the same way).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ParseDeepLink(string location)
    {
        var uri = new Uri(location);
        Assert.Equal("bitwarden", uri.Scheme);
        Assert.Equal("sso-cookie-vendor", uri.Host);
        var pairs = uri.Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).ToList();
        Assert.Equal(["d", "1"], pairs[^1]);
        return pairs.Where(p => p[0] != "d").Select(p => new KeyValuePair<string, string>(p[0], Uri.UnescapeDataString(p[1]))).ToList();
    }

    /// <summary>How the apps send the stored cookies: one Cookie header, <c>name=value</c> pairs joined by "; " (Android CookieInterceptor.kt lines 90-99).</summary>
    public static HttpRequestMessage WithCookies(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string>> cookies)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
        return request;
    }
}
