using System.Net;
using System.Net.Http;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MtlsGate.Tls;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// A CA folder for enrolment (<c>ca.pem</c> + <c>ca.key</c>, as <c>mtlsgate init</c> makes) whose root the
/// gateway trusts beside the test PKI: certificates enrolled by link connect like any other device.
/// </summary>
public sealed class EnrollmentCa : IDisposable
{
    public EnrollmentCa()
    {
        Folder = Directory.CreateTempSubdirectory("mtlsgate-enroll-ca-").FullName;
        Root = Pki.CreateRoot("CN=Enrolment Test CA, O=MtlsGate tests");
        File.WriteAllText(Path.Combine(Folder, CaFolder.CaFile), Pki.CertificatePem(Root));
        File.WriteAllText(Path.Combine(Folder, CaFolder.CaKeyFile), Pki.KeyPem(Root));
        Bundle = Path.Combine(Folder, "trusted.pem");
        File.WriteAllText(Bundle, TestPki.Instance.CaBundlePem + Pki.CertificatePem(Root));
    }

    public string Folder { get; }

    public X509Certificate2 Root { get; }

    /// <summary>The test PKI's bundle plus this root.</summary>
    public string Bundle { get; }

    /// <summary>Configures a <see cref="TestGateway"/>: trust both, enrolment from this folder.</summary>
    public void Configure(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config["MtlsGate"]!["TrustStores"]!["Default"]!["CaBundle"] = Bundle;
        config["MtlsGate"]!["Enrollment"] = new JsonObject { ["CaFolder"] = Folder };
    }

    public void Dispose()
    {
        Root.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The admin page as a script sees it: plain HTTP to the loopback management listener, the CSRF token read from a form.</summary>
public sealed partial class AdminClient : IDisposable
{
    public AdminClient(Uri management)
    {
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = management, Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Http { get; }

    /// <summary>The synchronizer token every form of the page carries (read from <paramref name="page"/>: a device's page, or "Add device" with enrolment on).</summary>
    public async Task<string> CsrfTokenAsync(string page = "/admin/enroll")
    {
        var html = await Http.GetStringAsync(new Uri(page, UriKind.Relative));
        return CsrfField().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException("No CSRF token in the page:\n" + html);
    }

    /// <summary>POSTs a form as the page's buttons do (token included unless <paramref name="token"/> is empty).</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, string? token, string? origin = null)
    {
        var values = fields.ToList();
        if (token is not null)
        {
            values.Add(new("csrf", token));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new FormUrlEncodedContent(values) };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>An API call; <paramref name="withHeader"/> adds <c>X-Requested-With: MtlsGate</c>.</summary>
    public async Task<HttpResponseMessage> PostApiAsync(string path, string? json = null, bool withHeader = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = json is null ? null : new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        if (withHeader)
        {
            request.Headers.Add("X-Requested-With", "MtlsGate");
        }

        return await Http.SendAsync(request);
    }

    /// <summary>The device as the API shows it, or null (404, or 503 while the store starts).</summary>
    public async Task<JsonObject?> DeviceAsync(string sha256)
    {
        using var response = await Http.GetAsync(new Uri($"/admin/api/devices/{sha256}", UriKind.Relative));
        return response.StatusCode != HttpStatusCode.OK ? null : JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    public void Dispose() => Http.Dispose();
}
