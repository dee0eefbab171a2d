using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

/// <summary>Revocation and hot reload against the running gateway: CRL files and URLs, deny-lists, reload under load.</summary>
public sealed class LifecycleTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    private static async Task<TestGateway> StartWithCrlAsync(byte[] crl, Action<JsonObject>? more = null)
    {
        var folder = Directory.CreateTempSubdirectory("mtlsgate-crl-").FullName;
        var crlPath = Path.Combine(folder, "ca.crl");
        await File.WriteAllBytesAsync(crlPath, crl);
        return await TestGateway.StartAsync(config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"] = new JsonArray(crlPath);
            more?.Invoke(config);
        });
    }

    private static string CrlPath(TestGateway gateway) => gateway.Config["MtlsGate"]!["TrustStores"]!["Default"]!["Crls"]![0]!.GetValue<string>();

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task CertificateRevokedWhileItsConnectionIsOpen_IsRefusedOnItsVeryNextRequest(string version)
    {
        await using var gateway = await StartWithCrlAsync(TestPki.Crl(Pki.Root, []));
        using var client = gateway.Client(Pki.Good, Version.Parse(version));
        using (var before = await client.GetAsync("/before"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        Assert.True(await gateway.WaitForReloadAsync(() => File.WriteAllBytes(CrlPath(gateway), TestPki.Crl(Pki.Root, [Pki.Good], number: 2))));
        using var after = await client.GetAsync("/after");

        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after");
    }

    [Fact]
    public async Task BadCrlAtReload_IsRejected_AndTheLastGoodOneStaysInForce()
    {
        await using var gateway = await StartWithCrlAsync(TestPki.Crl(Pki.Root, [Pki.NoEku]));
        using var sameName = MtlsGate.Tls.Pki.CreateRoot(Pki.Root.Subject);
        var good = TestPki.Crl(Pki.Root, [Pki.NoEku]);
        var candidates = new Dictionary<string, byte[]>
        {
            ["forged signature"] = TestPki.Crl(sameName, []),
            ["wrong issuer"] = TestPki.Crl(Pki.OtherRoot, []),
            ["truncated"] = good[..(good.Length / 2)],
        };

        foreach (var (what, crl) in candidates)
        {
            var reloaded = await gateway.WaitForReloadAsync(() => File.WriteAllBytes(CrlPath(gateway), crl));

            Assert.False(reloaded, what);
            Assert.Contains(gateway.State.LastReloadErrors, e => e.Contains("ca.crl", StringComparison.Ordinal) && e.StartsWith("MtlsGate:TrustStores:Default:Crls:0:", StringComparison.Ordinal));
            using var revoked = gateway.Client(Pki.NoEku);
            using var valid = gateway.Client(Pki.Good);
            Assert.Equal(HttpStatusCode.NotFound, (await revoked.GetAsync("/still-revoked")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync("/still-valid")).StatusCode);
        }
    }

    [Fact]
    public async Task CrlPastNextUpdate_FailsClosed_UnlessWithinTheConfiguredGrace()
    {
        var stale = TestPki.Crl(Pki.Root, [], nextUpdate: DateTimeOffset.UtcNow.AddHours(-1), thisUpdate: DateTimeOffset.UtcNow.AddDays(-2));
        await using (var strict = await StartWithCrlAsync(stale))
        {
            using var client = strict.Client(Pki.Good);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/stale")).StatusCode);
        }

        await using var lenient = await StartWithCrlAsync(stale, config => config["MtlsGate"]!["TrustStores"]!["Default"]!["StaleCrlGrace"] = "1.00:00:00");
        using var graceClient = lenient.Client(Pki.Good);
        Assert.Equal(HttpStatusCode.OK, (await graceClient.GetAsync("/grace")).StatusCode);
    }

    [Fact]
    public async Task GarbageCrlAtStartUp_StopsStartUp_NamingTheKeyAndTheFile()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartWithCrlAsync("not a crl"u8.ToArray()));

        Assert.Contains("MtlsGate:TrustStores:Default:Crls:0:", error.Message, StringComparison.Ordinal);
        Assert.Contains("ca.crl", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DenyListedFingerprint_AddedByReload_IsRefusedOnTheOpenConnection()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastReload);
        using var client = gateway.Client(Pki.Good, HttpVersion.Version20);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/before")).StatusCode);

        var fingerprint = Convert.ToHexString(Pki.Good.GetCertHash(HashAlgorithmName.SHA256));
        await gateway.RewriteConfigAsync(config => config["MtlsGate"]!["TrustStores"]!["Default"]!["DenyFingerprints"] = new JsonArray(fingerprint));

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/after")).StatusCode);
    }

    [Fact]
    public async Task CrlUrl_IsFetchedInTheBackground_AndABadDownloadKeepsTheLastGoodOne()
    {
        var served = TestPki.Crl(Pki.Root, [Pki.Good]);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var crlServer = builder.Build();
        var fetches = 0;
        crlServer.Run(async context =>
        {
            Interlocked.Increment(ref fetches);
            await context.Response.Body.WriteAsync(Volatile.Read(ref served));
        });
        await crlServer.StartAsync();
        var url = crlServer.Urls.First() + "/root.crl";
        var cache = Directory.CreateTempSubdirectory("mtlsgate-crl-cache-").FullName;

        await using var gateway = await TestGateway.StartAsync(config =>
        {
            TestGateway.FastReload(config);
            config["MtlsGate"]!["Reload"]!["CrlCacheDirectory"] = cache;
            config["MtlsGate"]!["TrustStores"]!["Default"]!["CrlUrls"] = new JsonArray(url);
        });

        await Eventually.TrueAsync(async () => (await StatusAsync(gateway, Pki.Good)) == HttpStatusCode.NotFound, TimeSpan.FromSeconds(20), "the revoked certificate is refused (404)");
        Volatile.Write(ref served, "garbage"u8.ToArray());
        var before = Volatile.Read(ref fetches);
        await Eventually.TrueAsync(() => Volatile.Read(ref fetches) >= before + 2, TimeSpan.FromSeconds(20), "the CRL is fetched twice more");
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(gateway, Pki.Good));

        Volatile.Write(ref served, TestPki.Crl(Pki.Root, [], number: 2));
        await Eventually.TrueAsync(async () => (await StatusAsync(gateway, Pki.Good)) == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "the certificate is accepted again (200)");
    }

    [Fact]
    public async Task TenReloadsUnderContinuousLoad_FailNoRequest_AndTheNewStateIsEffective()
    {
        await using var gateway = await StartWithCrlAsync(TestPki.Crl(Pki.Root, []));
        using var stop = new CancellationTokenSource();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        long completed = 0;

        async Task LoopAsync(Func<HttpClient> factory, bool newConnectionEachTime)
        {
            var client = factory();
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    if (newConnectionEachTime)
                    {
                        client.Dispose();
                        client = factory();
                    }

                    try
                    {
                        using var response = await client.GetAsync("/load");
                        if (response.StatusCode != HttpStatusCode.OK)
                        {
                            failures.Enqueue($"status {(int)response.StatusCode}");
                        }
                    }
                    catch (HttpRequestException ex)
                    {
                        failures.Enqueue(ex.Message);
                    }

                    Interlocked.Increment(ref completed);
                }
            }
            finally
            {
                client.Dispose();
            }
        }

        var loops = new[]
        {
            Task.Run(() => LoopAsync(() => gateway.Client(Pki.Good), newConnectionEachTime: true)),
            Task.Run(() => LoopAsync(() => gateway.Client(Pki.GoodViaIntermediate, HttpVersion.Version20), newConnectionEachTime: true)),
            Task.Run(() => LoopAsync(() => gateway.Client(Pki.Good), newConnectionEachTime: false)),
            Task.Run(() => LoopAsync(() => gateway.Client(Pki.Good, HttpVersion.Version20), newConnectionEachTime: false)),
        };

        X509Certificate2? lastServer = null;
        for (var i = 0; i < 10; i++)
        {
            var round = i;
            Action change = (round % 4) switch
            {
                0 => () =>
                {
                    lastServer = MtlsGate.Tls.Pki.Issue(Pki.Root, "CN=localhost", new MtlsGate.Tls.IssueOptions
                    {
                        ExtendedKeyUsages = [MtlsGate.Tls.Pki.ServerAuthOid],
                        DnsNames = ["localhost"],
                        IpAddresses = [IPAddress.Loopback],
                    });
                    // Key first, then certificate: a reload that sees a mismatched pair keeps the last good state.
                    File.WriteAllText(Path.Combine(gateway.Folder, "server.key"), MtlsGate.Tls.Pki.KeyPem(lastServer));
                    File.WriteAllText(Path.Combine(gateway.Folder, "server.pem"), MtlsGate.Tls.Pki.CertificatePem(lastServer));
                },
                1 => () => File.WriteAllText(Path.Combine(gateway.Folder, "ca.pem"), MtlsGate.Tls.Pki.CertificatePem(Pki.Intermediate) + MtlsGate.Tls.Pki.CertificatePem(Pki.Root) + (round % 2 == 0 ? "" : "\n")),
                2 => () => File.WriteAllBytes(CrlPath(gateway), TestPki.Crl(Pki.Root, [Pki.NoEku], number: round + 2)),
                _ => () =>
                {
                    gateway.Config["ReverseProxy"]!["Routes"]!["extra"] = new JsonObject
                    {
                        ["ClusterId"] = "app",
                        ["Match"] = new JsonObject { ["Path"] = $"/extra-{round}/{{**rest}}" },
                    };
                    File.WriteAllText(gateway.ConfigFile, gateway.Config.ToJsonString());
                },
            };

            var before = gateway.State.ReloadSuccesses;
            change();
            await Eventually.TrueAsync(() => gateway.State.ReloadSuccesses > before, TimeSpan.FromSeconds(20), "the change is reloaded");
            // Deliberate time, not synchronisation: the request loops run against each new state for a while
            // before the next change.
            await Task.Delay(150);
        }

        await stop.CancelAsync();
        await Task.WhenAll(loops);

        Assert.Empty(failures);
        Assert.True(Interlocked.Read(ref completed) > 100, $"only {completed} requests completed");
        Assert.True(gateway.State.ReloadSuccesses >= 10);
        // The new state is in effect: the last server certificate is served, the revoked one refused, the new route routed.
        await using var ssl = await RawTls.ConnectAsync(gateway.GatewayUri, Pki.Good);
        Assert.Equal(lastServer!.Thumbprint, new X509Certificate2(ssl.RemoteCertificate!).Thumbprint);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(gateway, Pki.NoEku));
        using var client = gateway.Client(Pki.Good);
        using var extra = await client.GetAsync("/extra-9/x");
        Assert.Equal(HttpStatusCode.OK, extra.StatusCode);
    }

    private static async Task<HttpStatusCode> StatusAsync(TestGateway gateway, X509Certificate2 certificate)
    {
        using var client = gateway.Client(certificate);
        using var response = await client.GetAsync("/probe");
        return response.StatusCode;
    }
}
