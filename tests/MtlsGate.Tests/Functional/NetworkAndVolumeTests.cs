using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

public sealed class NetworkAndVolumeTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CertificateWithAiaOcspAndCrlUrls_OnLoopback_CausesZeroFetches(bool issuerKnown)
    {
        using var trap = new TcpListener(IPAddress.Loopback, 0);
        trap.Start();
        var port = ((IPEndPoint)trap.LocalEndpoint).Port;
        var connections = 0;
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var socket = await trap.AcceptSocketAsync(stop.Token);
                    Interlocked.Increment(ref connections);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        // Issued by the trusted root (valid), or by an intermediate the gateway lacks and the client
        // does not send: only an AIA fetch from the URL the client chose could complete that chain.
        var leaf = TestPki.WithNetworkPointers(issuerKnown ? Pki.Root : Pki.UnknownIntermediate, $"http://127.0.0.1:{port}/");
        await using var gateway = await TestGateway.StartAsync();
        using var client = gateway.Client(leaf);

        using var response = await client.GetAsync("/aia");
        // Deliberate time: the test shows that nothing happens (no fetch reaches the trap), which no condition can
        // signal; half a second gives a stray fetch the time to arrive.
        await Task.Delay(500);
        var duringGateway = Volatile.Read(ref connections);

        // Control: the trap does see a platform chain build that is allowed to download.
        if (!issuerKnown)
        {
            using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
            chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(Pki.Root);
            chain.ChainPolicy.UrlRetrievalTimeout = TimeSpan.FromSeconds(3);
            chain.Build(leaf);
            await Eventually.TrueAsync(() => Volatile.Read(ref connections) > 0, TimeSpan.FromSeconds(5), "control: a downloading chain build should have hit the trap");
            Assert.True(Volatile.Read(ref connections) > 0, "control: a downloading chain build should have hit the trap");
        }

        await stop.CancelAsync();
        await accepting;

        Assert.Equal(issuerKnown ? HttpStatusCode.OK : HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, duringGateway);
    }

    [Fact]
    public async Task Upload_Of525Megabytes_IsStreamedThroughWithBoundedMemory()
    {
        const long Size = 525L * 1024 * 1024 + 12345;
        await using var gateway = await TestGateway.StartAsync();
        using var client = gateway.Client(Pki.Good);
        using var process = Process.GetCurrentProcess();
        GC.Collect();
        process.Refresh();
        var baseline = process.WorkingSet64;
        long peak = baseline;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                await Task.Delay(50); // the sampling period of the memory measurement, not synchronisation
            }
        });

        using var content = new GeneratedContent(Size);
        using var response = await client.PostAsync("/upload", content);
        await sampling.CancelAsync();
        await sampler;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"received {Size}", await response.Content.ReadAsStringAsync());
        Assert.Equal(Size, gateway.Backend.LastUploadBytes);
        // Client, gateway and backend share this process: buffering the body anywhere would add 525 MB.
        Assert.True(peak - baseline < 200L * 1024 * 1024, $"working set grew by {(peak - baseline) / (1024 * 1024)} MB");
    }

    /// <summary>A request body generated on the fly (never held in memory), sent chunked.</summary>
    private sealed class GeneratedContent(long size) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var buffer = new byte[64 * 1024];
            Random.Shared.NextBytes(buffer);
            var left = size;
            while (left > 0)
            {
                var count = (int)Math.Min(buffer.Length, left);
                await stream.WriteAsync(buffer.AsMemory(0, count));
                left -= count;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = size;
            return true;
        }
    }
}
