// The benchmark's platform floor: Kestrel terminates TLS, SslStream validates the client chain
// against the CA bundle (once per connection, as in the gateway), a request without a valid
// certificate gets 404, YARP forwards the rest. No policy layer, no identity headers, no logging,
// no metrics. Usage: floor PORT CA.pem SERVER.pem SERVER.key BACKEND-URL
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Yarp.ReverseProxy.Configuration;

if (args.Length != 5)
{
    Console.Error.WriteLine("usage: floor PORT CA.pem SERVER.pem SERVER.key BACKEND-URL");
    return 2;
}

var port = int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
var roots = new X509Certificate2Collection();
roots.ImportFromPemFile(args[1]);
// One certificate context for all connections (as the gateway does): without it SslStream builds
// the server's chain again on every handshake.
var serverCertificate = SslStreamCertificateContext.Create(X509Certificate2.CreateFromPemFile(args[2], args[3]), additionalCertificates: null, offline: true);
const string ValidKey = "floor.valid";
var policy = new X509ChainPolicy
{
    TrustMode = X509ChainTrustMode.CustomRootTrust,
    RevocationMode = X509RevocationMode.NoCheck,
    DisableCertificateDownloads = true,
};
policy.CustomTrustStore.AddRange(roots);
policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2"));

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(port, listen => listen.UseHttps(new TlsHandshakeCallbackOptions
{
    OnConnection = context =>
    {
        var items = context.Connection.Items;
        return ValueTask.FromResult(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = serverCertificate,
            ClientCertificateRequired = true,
            CertificateChainPolicy = policy,
            // The handshake always completes; the verdict is kept for the request (404 if not valid).
#pragma warning disable CA5359
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                items[ValidKey] = certificate is not null && errors == SslPolicyErrors.None;
                return true;
            },
#pragma warning restore CA5359
        });
    },
})));
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "app", ClusterId = "app", Match = new RouteMatch { Path = "{**catch-all}" } }],
    [new ClusterConfig { ClusterId = "app", Destinations = new Dictionary<string, DestinationConfig> { ["d1"] = new() { Address = args[4] } } }]);

var app = builder.Build();
app.Use((context, next) =>
{
    if (context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ValidKey, out var valid) == true && valid is true)
    {
        return next(context);
    }

    context.Response.StatusCode = 404;
    context.Response.ContentType = "text/plain";
    return context.Response.WriteAsync("Not Found");
});
app.MapReverseProxy();
app.Run();
return 0;
