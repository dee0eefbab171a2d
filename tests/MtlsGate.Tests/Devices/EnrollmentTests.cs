using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MtlsGate.Devices;
using MtlsGate.Text;

namespace MtlsGate.Tests.Devices;

/// <summary>
/// One-time enrolment links on the real gateway: the .p12 is served once, without a certificate, on the
/// public listener only under <c>/.mtlsgate/enroll/</c>, never forwarded; reused, expired, guessed or
/// malformed tokens get a plain 404 and no file; the rate limit holds even for a valid link.
/// </summary>
public sealed class EnrollmentTests
{
    [Fact]
    public async Task A_link_downloads_the_p12_once_and_the_device_shows_as_enrolled_after_its_first_request()
    {
        using var ca = new EnrollmentCa();
        await using var gateway = await TestGateway.StartAsync(ca.Configure);
        using var admin = new AdminClient(gateway.ManagementUri);
        var ticket = await EnrollAsync(admin, "alice-phone");
        var link = new Uri(ticket["url"]!.GetValue<string>());
        Assert.Equal(gateway.GatewayUri.Port, link.Port);
        Assert.Matches("^/\\.mtlsgate/enroll/[A-Za-z0-9_-]{22}$", link.AbsolutePath);
        Assert.DoesNotContain(ticket["password"]!.GetValue<string>(), link.AbsoluteUri, StringComparison.Ordinal);
        using var anonymous = gateway.Client(null);

        using var download = await anonymous.GetAsync(link.PathAndQuery);

        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/x-pkcs12", download.Content.Headers.ContentType!.MediaType);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Equal("alice-phone.p12", download.Content.Headers.ContentDisposition.FileName!.Trim('"'));
        Assert.Contains("no-store", download.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        var p12 = await download.Content.ReadAsByteArrayAsync();
        var certificates = X509CertificateLoader.LoadPkcs12Collection(p12, ticket["password"]!.GetValue<string>());
        using var leaf = certificates.Single(c => c.HasPrivateKey);
        Assert.Equal(ticket["sha256"]!.GetValue<string>(), Fingerprint.Sha256(leaf));
        Assert.Contains(certificates, c => c.Thumbprint == ca.Root.Thumbprint);

        using var again = await anonymous.GetAsync(link.PathAndQuery);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal("Not Found", await again.Content.ReadAsStringAsync());

        using var device = gateway.Client(leaf);
        Assert.Equal(HttpStatusCode.OK, (await device.GetAsync("/first")).StatusCode);
        await Eventually.TrueAsync(async () => (await admin.DeviceAsync(Fingerprint.Sha256(leaf)))?["enrolledAt"] is JsonValue, TimeSpan.FromSeconds(20), "the device is marked enrolled");
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path.StartsWith("/.mtlsgate", StringComparison.Ordinal));
        Assert.Contains("\"alice-phone\"", File.ReadAllText(Path.Combine(ca.Folder, "issued.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_guessed_or_malformed_token_or_another_method_gets_404_and_no_file_and_never_reaches_the_backend()
    {
        using var ca = new EnrollmentCa();
        await using var gateway = await TestGateway.StartAsync(ca.Configure);
        using var admin = new AdminClient(gateway.ManagementUri);
        var link = new Uri((await EnrollAsync(admin, "bob"))["url"]!.GetValue<string>());
        using var anonymous = gateway.Client(null);

        foreach (var path in new[] { "/.mtlsgate/enroll/" + Enrollments.NewToken(), "/.mtlsgate/enroll/short", "/.mtlsgate/enroll/", "/.mtlsgate/enroll/" + Enrollments.NewToken() + "/x" })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.NotEqual("application/x-pkcs12", response.Content.Headers.ContentType?.MediaType);
        }

        using var post = await anonymous.PostAsync(link.PathAndQuery, null);
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        Assert.Empty(gateway.Backend.Requests);
        using var stillValid = await anonymous.GetAsync(link.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, stillValid.StatusCode);
    }

    [Fact]
    public async Task The_rate_limit_per_address_holds_even_for_a_valid_link()
    {
        using var ca = new EnrollmentCa();
        await using var gateway = await TestGateway.StartAsync(ca.Configure);
        using var admin = new AdminClient(gateway.ManagementUri);
        var link = new Uri((await EnrollAsync(admin, "carol"))["url"]!.GetValue<string>());
        using var anonymous = gateway.Client(null);

        for (var i = 0; i < EnrollmentEndpoint.PerAddressPerMinute; i++)
        {
            using var guess = await anonymous.GetAsync("/.mtlsgate/enroll/" + Enrollments.NewToken());
            Assert.Equal(HttpStatusCode.NotFound, guess.StatusCode);
        }

        using var limited = await anonymous.GetAsync(link.PathAndQuery);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotEqual("application/x-pkcs12", limited.Content.Headers.ContentType?.MediaType);
        Assert.Equal("60", limited.Headers.RetryAfter!.ToString());
    }

    [Fact]
    public async Task A_link_older_than_15_minutes_is_refused()
    {
        using var ca = new EnrollmentCa();
        var clock = ManualClock.StartingNow();
        await using var gateway = await TestGateway.StartAsync(ca.Configure, services => services.AddSingleton<TimeProvider>(clock));
        using var admin = new AdminClient(gateway.ManagementUri);
        var ticket = await EnrollAsync(admin, "dave");
        var link = new Uri(ticket["url"]!.GetValue<string>());
        Assert.Equal(clock.GetUtcNow() + Enrollments.Lifetime, ticket["expiresAt"]!.GetValue<DateTimeOffset>());
        using var anonymous = gateway.Client(null);

        clock.Advance(Enrollments.Lifetime + TimeSpan.FromSeconds(1));
        using var expired = await anonymous.GetAsync(link.PathAndQuery);

        Assert.Equal(HttpStatusCode.NotFound, expired.StatusCode);
    }

    [Fact]
    public void Tokens_are_128_bit_base64url_and_only_their_SHA_256_is_kept()
    {
        var tokens = Enumerable.Range(0, 100).Select(_ => Enrollments.NewToken()).ToList();

        Assert.All(tokens, t => Assert.True(Enrollments.IsWellFormed(t), t));
        Assert.Equal(100, tokens.Distinct().Count());
        Assert.Equal(64, Enrollments.Hash(tokens[0]).Length);
        Assert.NotEqual(Enrollments.Hash(tokens[0]), Enrollments.Hash(tokens[1]));
        Assert.False(Enrollments.IsWellFormed("../../etc/passwd"));
    }

    private static async Task<JsonObject> EnrollAsync(AdminClient admin, string name)
    {
        // The store is migrated in the background at start-up.
        JsonObject? ticket = null;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await admin.PostApiAsync("/admin/api/enrollments", $"{{\"name\":\"{name}\"}}");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            ticket = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            return true;
        }, TimeSpan.FromSeconds(15), "the enrolment is created");
        return ticket!;
    }
}
