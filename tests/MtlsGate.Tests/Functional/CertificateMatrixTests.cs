using System.Net;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>Every certificate case of the test PKI, through the real gateway, over HTTP/1.1 and HTTP/2.</summary>
public sealed class CertificateMatrixTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly TestPki Pki = TestPki.Instance;

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var version in new[] { "1.1", "2.0" })
        {
            data.Add(nameof(TestPki.Good), version, 200);
            data.Add(nameof(TestPki.GoodViaIntermediate), version, 200);
            data.Add(nameof(TestPki.NoEku), version, 200);
            data.Add("", version, 404);
            data.Add(nameof(TestPki.OtherRootLeaf), version, 404);
            data.Add(nameof(TestPki.Expired), version, 404);
            data.Add(nameof(TestPki.NotYetValid), version, 404);
            data.Add(nameof(TestPki.ServerAuthOnly), version, 404);
            data.Add(nameof(TestPki.EmptyEku), version, 404);
            data.Add(nameof(TestPki.Impostor), version, 404);
            data.Add(nameof(TestPki.ViaUnknownIntermediate), version, 404);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Request_WithCertificateCase_GetsTheExpectedStatus_AndDenialsNeverReachTheBackend(string leaf, string version, int expected)
    {
        var certificate = leaf.Length == 0 ? null : (X509Certificate2)typeof(TestPki).GetProperty(leaf)!.GetValue(Pki)!;
        using var client = fixture.Gateway.Client(certificate, Version.Parse(version));
        var path = $"/matrix/{leaf}/{version}";

        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(expected, (int)response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
        Assert.False(response.Headers.Contains("Server"));
        var seen = fixture.Gateway.Backend.Requests.Where(r => r.Path == path).ToList();
        if (expected == 200)
        {
            var request = Assert.Single(seen);
            Assert.Equal(certificate!.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant(), request.Header("X-Client-Cert-Sha256"));
            Assert.Equal("SUCCESS", request.Header("X-Client-Cert-Verify"));
        }
        else
        {
            Assert.Equal("Not Found", body);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.ToString());
            Assert.Empty(seen);
        }
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Request_LeafWithUnknownIntermediate_WhenTheClientPresentsIt_Gets200(string version)
    {
        using var client = fixture.Gateway.Client(Pki.ViaUnknownIntermediatePresented, Version.Parse(version), [Pki.UnknownIntermediate]);

        using var response = await client.GetAsync("/presented-intermediate");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Request_ChainWithBrokenIntermediate_PresentedByTheClient_Gets404(string version)
    {
        foreach (var (leaf, chain) in new[]
        {
            (Pki.ViaNotCaIntermediate, new X509Certificate2Collection { Pki.NotCaIntermediate }),
            (Pki.ViaNoKeyCertSign, new X509Certificate2Collection { Pki.NoKeyCertSignIntermediate }),
            (Pki.ViaPathLenViolation, new X509Certificate2Collection { Pki.BelowPathLenZero, Pki.PathLenZeroIntermediate }),
            (Pki.ViaExpiredIntermediate, new X509Certificate2Collection { Pki.ExpiredIntermediate }),
        })
        {
            using var client = fixture.Gateway.Client(leaf, Version.Parse(version), chain);
            using var response = await client.GetAsync("/broken-chain");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.DoesNotContain(fixture.Gateway.Backend.Requests, r => r.Path == "/broken-chain");
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task KeepAliveConnection_ManyRequests_ValidateTheCertificateOnce(string version)
    {
        await using var gateway = await TestGateway.StartAsync();
        var store = gateway.State.Current.ConnectionTrustStore!;
        using var client = gateway.Client(Pki.Good, Version.Parse(version));

        for (var i = 0; i < 20; i++)
        {
            using var response = await client.GetAsync($"/keepalive/{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(1, store.Validations);
    }
}

/// <summary>One gateway (and destination) shared by a test class.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public TestGateway Gateway { get; private set; } = null!;

    public async Task InitializeAsync() => Gateway = await TestGateway.StartAsync();

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}
