using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Client-initiated renegotiation (TLS 1.2) would let a client swap certificates mid-connection
/// (or burn server CPU); TLS compression enables CRIME. Both must be off.
/// </summary>
public sealed class TlsRenegotiationTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Client_initiated_renegotiation_is_refused_and_no_request_is_served_after_the_attempt()
    {
        using var files = new SClientFiles();
        await using var gateway = await TestGateway.StartAsync();
        var cert = files.CertArguments("good", TestPki.Instance.Good);

        // s_client without -ign_eof: a line "R" asks for a renegotiation; then a request on the same connection.
        var result = await SClient.InteractiveAsync(gateway.GatewayUri.Port, files.CaFile, ["-tls1_2", "-servername", "localhost", .. cert],
            ["R\n", SClient.Request("/after-renegotiation")], TimeSpan.FromSeconds(3));
        output.WriteLine(SClient.Describe(result));
        output.WriteLine(result.StandardError);

        Assert.False(result.TimedOut);
        Assert.Contains("RENEGOTIATING", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        // Observed: the gateway drops the connection on the renegotiation ClientHello (s_client: unexpected eof).
        Assert.NotEqual(0, result.ExitCode);
        // A completed renegotiation verifies the server certificate a second time: it must appear once.
        Assert.Equal(1, Count(result.StandardError, "depth=0 CN = localhost"));
        Assert.NotEqual(200, SClient.Status(result));
        Assert.DoesNotContain(gateway.Backend.Requests, r => r.Path == "/after-renegotiation");
    }

    [SkippableTheory]
    [InlineData("http/1.1")]
    [InlineData("h2")]
    public async Task Repeated_renegotiation_attempts_log_one_line_per_connection_and_no_error(string alpn)
    {
        using var files = new SClientFiles();
        var capture = new LevelCapture();
        await using var gateway = await TestGateway.StartAsync(
            config => config["Serilog"] = new JsonObject { ["MinimumLevel"] = new JsonObject { ["Default"] = "Debug" } },
            services => services.AddSingleton<ILoggerProvider>(capture));
        var cert = files.CertArguments("good", TestPki.Instance.Good);

        // Two connections, each typing R three times (the first attempt ends the connection; the rest
        // find it closed): one line of ours each, never an Error.
        for (var connection = 0; connection < 2; connection++)
        {
            var result = await SClient.InteractiveAsync(gateway.GatewayUri.Port, files.CaFile, ["-tls1_2", "-servername", "localhost", "-alpn", alpn, .. cert],
                ["R\n", "R\n", "R\n"], TimeSpan.FromSeconds(2));
            output.WriteLine(SClient.Describe(result));
            Assert.Contains("RENEGOTIATING", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        }

        // The line is written when the connection ends, just after s_client sees the close: poll for it.
        await Eventually.TrueAsync(() => capture.Events.Count(e => e.EventName == "RenegotiationRefused") >= 2, TimeSpan.FromSeconds(10), "two RenegotiationRefused lines are logged");

        foreach (var e in capture.Events.Where(e => e.Level >= LogLevel.Information || e.Category.StartsWith("MtlsGate", StringComparison.Ordinal)))
        {
            output.WriteLine($"{e.Level} {e.Category} {e.EventName}: {e.Message}");
        }

        Assert.DoesNotContain(capture.Events, e => e.Level >= LogLevel.Error);
        Assert.DoesNotContain(capture.Events, e => e.HasException && e.Level >= LogLevel.Information);
        var ours = capture.Events.Where(e => e.EventName == "RenegotiationRefused").ToList();
        Assert.Equal(2, ours.Count);
        Assert.All(ours, e => Assert.Equal(LogLevel.Information, e.Level));
        Assert.All(ours, e => Assert.False(e.HasException));
        Assert.Equal(2, ours.Select(e => e.Message).Distinct().Count());
        var fingerprint = TestPki.Instance.Good.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant();
        Assert.All(ours, e => Assert.Contains(fingerprint, e.Message, StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task Tls_compression_is_never_negotiated(string version)
    {
        using var files = new SClientFiles();
        await using var gateway = await TestGateway.StartAsync();
        var cert = files.CertArguments("good", TestPki.Instance.Good);

        var result = await SClient.RunAsync(gateway.GatewayUri.Port, files.CaFile, [version, "-servername", "localhost", "-comp", .. cert], SClient.Request("/compression"));
        output.WriteLine(SClient.Describe(result));

        Assert.Equal(200, SClient.Status(result));
        Assert.Contains("Compression: NONE", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Expansion: NONE", result.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>Every event with its level and whether it carried an exception (a stack trace in the log).</summary>
    private sealed class LevelCapture : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Category, string? EventName, string Message, bool HasException)> Events { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Events);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(LogLevel, string, string?, string, bool)> events) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                events.Enqueue((logLevel, category, eventId.Name, formatter(state, exception), exception is not null));
        }
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
