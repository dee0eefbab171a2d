using MtlsGate.Configuration;
using MtlsGate.Policy;
using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Proxy;

/// <summary>
/// Sets the identity headers (<see cref="IdentityHeaders"/>) of the identity the request was judged
/// with. Computed once per connection, identity and format, and cached on the connection.
/// </summary>
public sealed class IdentityHeadersTransform : RequestTransform
{
    public static readonly IdentityHeadersTransform Instance = new();

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var decided = Decided.Of(context);
        if (decided.Connection is null)
        {
            return ValueTask.CompletedTask;
        }

        var headers = context.ProxyRequest.Headers;
        foreach (var header in HeadersFor(decided))
        {
            headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return ValueTask.CompletedTask;
    }

    private static KeyValuePair<string, string>[] HeadersFor(DecidedRequest decided)
    {
        var connection = decided.Connection!;
        var identity = decided.Identity;
        var format = decided.Snapshot.Forwarding.IdentityHeaders;
        if (identity.IsForwarded)
        {
            // An edge's connection carries many clients: its identities are cached on the edge connection
            // (by the forwarded headers), and their headers computed once per identity object.
            return IdentityHeaders.For(identity, format);
        }

        if (connection.HeaderCache is HeaderCacheEntry entry && ReferenceEquals(entry.Identity, identity) && entry.Format == format)
        {
            return entry.Headers;
        }

        var headers = IdentityHeaders.For(identity, format, connection.PresentedChain);
        connection.HeaderCache = new HeaderCacheEntry(identity, format, headers);
        return headers;
    }

    private sealed record HeaderCacheEntry(ClientIdentity Identity, IdentityHeaderFormat Format, KeyValuePair<string, string>[] Headers);
}
