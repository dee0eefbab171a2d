using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// An https destination on loopback (Kestrel) that requires a client certificate chaining to
/// <c>clientRoot</c> (checked with custom root trust), answers 200 and records the subject of every
/// client certificate it accepted (also sent back in <c>X-Seen-Client-Subject</c>).
/// </summary>
public sealed class TlsBackend : IAsyncDisposable
{
    public const string SeenSubjectHeader = "X-Seen-Client-Subject";

    private readonly WebApplication _app;

    private TlsBackend(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Client certificate subjects of accepted requests, in order.</summary>
    public ConcurrentQueue<string> Subjects { get; } = new();

    public static async Task<TlsBackend> StartAsync(X509Certificate2 serverCertificate, X509Certificate2 clientRoot)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = serverCertificate,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = (certificate, _, _) => ChainsTo(certificate, clientRoot),
        })));
        var app = builder.Build();
        TlsBackend? backend = null;
        app.Run(async context =>
        {
            var subject = context.Connection.ClientCertificate?.Subject ?? "";
            backend!.Subjects.Enqueue(subject);
            context.Response.Headers[SeenSubjectHeader] = subject;
            await context.Response.WriteAsync("backend mtls ok");
        });
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        backend = new TlsBackend(app, new Uri($"https://127.0.0.1:{port}/"));
        return backend;
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        return chain.Build(certificate);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
