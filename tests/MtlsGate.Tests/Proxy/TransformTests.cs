using System.Net;
using System.Net.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Proxy;
using MtlsGate.Tests.Configuration;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;
using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Tests.Proxy;

/// <summary>Each of the proxy's transforms alone: a transform context in, the proxy request's headers out.</summary>
public sealed class TransformTests : IDisposable
{
    private static readonly ClientIdentity Valid = new(TestPki.Instance.Good, DenyReason.None);

    private readonly ConfigFiles _files = new();
    private readonly GatewaySnapshot _snapshot;

    public TransformTests()
    {
        var (snapshot, errors) = _files.Compile(ConfigFiles.Minimal(), CompileScope.TrustAndPolicies);
        Assert.Empty(errors);
        _snapshot = snapshot!;
    }

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task SpoofableHeaders_AreRemovedFromTheProxyRequest_OrdinaryOnesKept()
    {
        var context = Context(null);
        var headers = context.ProxyRequest.Headers;
        headers.TryAddWithoutValidation("x-client-cert-sha256", ["forged", "forged-again"]);
        headers.TryAddWithoutValidation("Remote-User", "admin");
        headers.TryAddWithoutValidation("X-Forwarded-For", "6.6.6.6");
        headers.TryAddWithoutValidation("X_Client_Cert", "forged");
        headers.TryAddWithoutValidation("Authorization", "Bearer keep");

        await SpoofableHeadersTransform.Instance.ApplyAsync(context);

        Assert.Equal(["Authorization"], headers.NonValidated.Select(h => h.Key));
    }

    [Fact]
    public async Task SpoofableHeaders_OnARouteThatCopiesNoHeaders_AreRemovedFromTheClientRequest()
    {
        var context = Context(null, headersCopied: false);
        context.HttpContext.Request.Headers["X-Real-IP"] = "6.6.6.6";
        context.HttpContext.Request.Headers["Cookie"] = "keep";

        await SpoofableHeadersTransform.Instance.ApplyAsync(context);

        Assert.Equal(["Cookie"], context.HttpContext.Request.Headers.Keys);
    }

    [Fact]
    public async Task IdentityHeaders_AreThoseOfTheDecidedIdentity_AndCachedOnTheConnection()
    {
        var connection = Connection();
        var context = Context(Decided(Valid, connection: connection));

        await IdentityHeadersTransform.Instance.ApplyAsync(context);

        Assert.Equal("SUCCESS", Single(context, IdentityHeaders.Verify));
        Assert.Equal(Valid.Sha256Fingerprint, Single(context, IdentityHeaders.Sha256));
        var cached = connection.HeaderCache;
        Assert.NotNull(cached);

        var again = Context(Decided(Valid, connection: connection));
        await IdentityHeadersTransform.Instance.ApplyAsync(again);

        Assert.Same(cached, connection.HeaderCache);
        Assert.Equal(Valid.Sha256Fingerprint, Single(again, IdentityHeaders.Sha256));
    }

    [Fact]
    public async Task IdentityHeaders_WithoutATlsConnection_AreNotSet()
    {
        var context = Context(Decided(Valid));

        await IdentityHeadersTransform.Instance.ApplyAsync(context);

        Assert.Empty(context.ProxyRequest.Headers.NonValidated);
    }

    [Fact]
    public async Task RealIp_IsTheDecidedClientAddress()
    {
        var context = Context(Decided(Valid, address: IPAddress.Parse("203.0.113.7")));

        await RealIpTransform.Instance.ApplyAsync(context);

        Assert.Equal("203.0.113.7", Single(context, RealIpTransform.HeaderName));
    }

    [Fact]
    public async Task RealIp_WithoutAClientAddress_IsNotSet()
    {
        var context = Context(Decided(Valid));

        await RealIpTransform.Instance.ApplyAsync(context);

        Assert.False(context.ProxyRequest.Headers.Contains(RealIpTransform.HeaderName));
    }

    [Fact]
    public async Task DaysLeft_IsCountedOnTheInjectedClock()
    {
        var clock = new ManualClock(Valid.NotAfter.AddDays(-10.5));
        var snapshot = _snapshot with { Expiry = new ExpirySettings([30], SendDaysLeftHeader: true) };
        var context = Context(Decided(Valid, snapshot, Connection()));

        await new DaysLeftTransform(clock).ApplyAsync(context);

        Assert.Equal("10", Single(context, DaysLeftTransform.HeaderName));
    }

    [Fact]
    public async Task DaysLeft_IsNotSent_UnlessConfigured_OrForAnInvalidCertificate()
    {
        var clock = new ManualClock(Valid.NotAfter.AddDays(-10.5));
        var sending = _snapshot with { Expiry = new ExpirySettings([30], SendDaysLeftHeader: true) };
        var off = Context(Decided(Valid, _snapshot, Connection()));
        var invalid = Context(Decided(new ClientIdentity(TestPki.Instance.Good, DenyReason.Revoked), sending, Connection()));

        await new DaysLeftTransform(clock).ApplyAsync(off);
        await new DaysLeftTransform(clock).ApplyAsync(invalid);

        Assert.False(off.ProxyRequest.Headers.Contains(DaysLeftTransform.HeaderName));
        Assert.False(invalid.ProxyRequest.Headers.Contains(DaysLeftTransform.HeaderName));
    }

    [Fact]
    public async Task ATransform_OnARequestWithoutADecision_RefusesToForwardIt()
    {
        var context = Context(null);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await IdentityHeadersTransform.Instance.ApplyAsync(context));
    }

    private DecidedRequest Decided(ClientIdentity identity, GatewaySnapshot? snapshot = null, ConnectionIdentityFeature? connection = null, IPAddress? address = null) =>
        new(snapshot ?? _snapshot, _snapshot.DefaultPolicy, identity, Decision.Allow, address, connection);

    private ConnectionIdentityFeature Connection() =>
        new(new DefaultConnectionContext(), _snapshot.ConnectionTrustStore!, rejectAtHandshake: false, TimeProvider.System);

    private static RequestTransformContext Context(DecidedRequest? decided, bool headersCopied = true)
    {
        var http = new DefaultHttpContext();
        if (decided is not null)
        {
            http.Features.Set(decided);
        }

        return new RequestTransformContext
        {
            HttpContext = http,
            ProxyRequest = new HttpRequestMessage(HttpMethod.Get, (Uri?)null),
            DestinationPrefix = "http://backend.test",
            HeadersCopied = headersCopied,
            Path = "/",
        };
    }

    private static string Single(RequestTransformContext context, string name) =>
        Assert.Single(context.ProxyRequest.Headers.GetValues(name));
}
