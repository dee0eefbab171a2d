using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Logging;
using MtlsGate.Tls;

namespace MtlsGate.Hosting;

/// <summary>What became of one CRL download.</summary>
public enum CrlFetchOutcome
{
    /// <summary>A new CRL, verified, replaced the cached copy (the reloader then compiles it in).</summary>
    Cached,
    /// <summary>The same bytes as the cached copy: nothing to do.</summary>
    Unchanged,
    /// <summary>Refused (too large, invalid, or a rollback): not cached, the CRL in force stays.</summary>
    Refused,
    /// <summary>The download failed (network, status, time-out): the CRL in force stays.</summary>
    Failed,
}

/// <summary>
/// Fetches the trust stores' <c>CrlUrls</c> in the background, never in the request path. Each body is
/// streamed with a bounded buffer into a fresh private file in the CRL cache (random name, exclusive
/// create, 0600), aborted past <c>MtlsGate:Limits:MaxCrlBytes</c> or <see cref="Timeout"/>, then
/// verified like a CRL file (signature by a CA of the store) and checked against the CRL high-water
/// marks; only then is it renamed over the cached copy. A refused download never reaches the cache.
/// </summary>
public sealed class CrlFetcher(TimeProvider time, ILogger<CrlFetcher> logger) : IDisposable
{
    /// <summary>The whole download, headers and body, must finish within this.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private const int BufferSize = 64 * 1024;

    // No redirects (a CRL URL is configured, not discovered), no proxy, no decompression (a small
    // compressed body must not expand past the cap unseen); the time limit is per download.
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    };

    /// <summary>Fetches every CRL URL of <paramref name="snapshot"/> once.</summary>
    public async Task FetchAllAsync(GatewaySnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        foreach (var crlUrl in snapshot.CrlUrls)
        {
            await FetchAsync(snapshot, crlUrl, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Fetches one CRL URL into the cache, or refuses it.</summary>
    public async Task<CrlFetchOutcome> FetchAsync(GatewaySnapshot snapshot, CrlUrl crlUrl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(crlUrl);
        if (!snapshot.TrustStores.TryGetValue(crlUrl.TrustStore, out var store) || snapshot.StateDirectory.Length == 0)
        {
            return CrlFetchOutcome.Failed;
        }

        var url = crlUrl.Url.ToString();
        var marks = CrlHighWaterMarks.For(snapshot.StateDirectory);
        var cacheDirectory = snapshot.Reload.CrlCacheDirectory;
        if (PrivateDirectory.Ensure(cacheDirectory) is { } unsafeCache)
        {
            Log.CrlFetchFailed(logger, url, unsafeCache);
            return CrlFetchOutcome.Failed;
        }

        string? temporary = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            var (outcome, path, sha256) = await DownloadAsync(crlUrl.Url, cacheDirectory, snapshot.LiveLimits.MaxCrlBytes, marks, timeout.Token).ConfigureAwait(false);
            temporary = path;
            if (outcome != CrlFetchOutcome.Cached)
            {
                return outcome;
            }

            var errors = new List<string>();
            var crl = ConfigCompiler.LoadCrl(temporary!, url, store.Authorities.ToList(), errors);
            if (crl is null)
            {
                return Refuse(marks, url, CrlRefusalKind.Invalid, string.Join(" | ", errors));
            }

            var now = time.GetUtcNow();
            if (marks.Check(crl, marks.Load(), url, now) is { } rollback)
            {
                Log.CrlRollbackRefused(logger, url, rollback);
                return CrlFetchOutcome.Refused;
            }

            var cachePath = ConfigCompiler.CrlCachePath(cacheDirectory, crlUrl.Url);
            if (SameFile(cachePath, sha256))
            {
                return CrlFetchOutcome.Unchanged;
            }

            PrivateDirectory.Commit(temporary!, cachePath);
            temporary = null;
            Log.CrlFetched(logger, url, (int)Math.Min(int.MaxValue, new FileInfo(cachePath).Length));
            return CrlFetchOutcome.Cached;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or UnauthorizedAccessException ||
                                   ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Log.CrlFetchFailed(logger, url, ex is OperationCanceledException ? $"no complete answer within {Timeout.TotalSeconds:0} s" : ex.Message);
            return CrlFetchOutcome.Failed;
        }
        finally
        {
            if (temporary is not null)
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Streams the body into a new private file; returns Cached (meaning: downloaded, to be verified) with its path and SHA-256.</summary>
    private async Task<(CrlFetchOutcome Outcome, string? Path, byte[] Sha256)> DownloadAsync(Uri url, string directory, long maxBytes, CrlHighWaterMarks marks, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            Log.CrlFetchFailed(logger, url.ToString(), $"HTTP {(int)response.StatusCode}");
            return (CrlFetchOutcome.Failed, null, []);
        }

        if (response.Content.Headers.ContentLength > maxBytes)
        {
            return (Refuse(marks, url.ToString(), CrlRefusalKind.TooLarge, $"Content-Length {response.Content.Headers.ContentLength} is over MtlsGate:Limits:MaxCrlBytes ({maxBytes})"), null, []);
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            var file = PrivateDirectory.CreateTemporary(directory, out var path);
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            var complete = false;
            try
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await using (file.ConfigureAwait(false))
                {
                    long total = 0;
                    int read;
                    while ((read = await body.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) != 0)
                    {
                        total += read;
                        if (total > maxBytes)
                        {
                            return (Refuse(marks, url.ToString(), CrlRefusalKind.TooLarge, $"the body is over MtlsGate:Limits:MaxCrlBytes ({maxBytes} bytes); download aborted"), null, []);
                        }

                        hash.AppendData(buffer, 0, read);
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }
                }

                complete = true;
                return (CrlFetchOutcome.Cached, path, hash.GetHashAndReset());
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                if (!complete)
                {
                    File.Delete(path);
                }
            }
        }
    }

    private CrlFetchOutcome Refuse(CrlHighWaterMarks marks, string url, CrlRefusalKind kind, string reason)
    {
        marks.Refused(url, kind, reason, time.GetUtcNow());
        Log.CrlFetchRejected(logger, url, reason);
        return CrlFetchOutcome.Refused;
    }

    /// <summary>True when the cached copy has exactly these bytes (a symlink there is never read: it is replaced).</summary>
    private static bool SameFile(string path, byte[] sha256)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.LinkTarget is not null)
        {
            return false;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize);
        return SHA256.HashData(stream).AsSpan().SequenceEqual(sha256);
    }

    public void Dispose() => _http.Dispose();
}
