using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace MtlsGate.Login;

/// <summary>
/// The session cookie on the wire. One cookie <c>NAME</c>, or for a large value shards <c>NAME-0</c>…<c>NAME-19</c>
/// read up to the first gap, the unsharded cookie first: the same rules as Bitwarden's vendor
/// (bitwarden/server src/Api/Platform/SsoCookieVendor/Controllers/SsoCookieVendorController.cs,
/// <c>_maxShardCount = 20</c>, "Stop at first missing shard"), so what the vendor hands the apps is what
/// the gateway reads back from them. Attributes: <c>Secure; HttpOnly; SameSite=Lax; Path=/</c> and no
/// <c>Domain</c> (host-only, RFC 6265 section 5.3 step 6).
/// </summary>
public static class SessionCookies
{
    public const int MaxShards = 20;

    /// <summary>Values longer than this are sharded (browsers keep about 4096 bytes per cookie, name and attributes included).</summary>
    public const int ShardLength = 3800;

    /// <summary>The cookie(s) as sent, in order: the unsharded one alone, else the shards up to the first gap; empty when none.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Read(IRequestCookieCollection cookies, string name)
    {
        ArgumentNullException.ThrowIfNull(cookies);
        if (cookies.TryGetValue(name, out var single) && !string.IsNullOrEmpty(single))
        {
            return [new(name, single)];
        }

        var shards = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < MaxShards; i++)
        {
            var shardName = ShardName(name, i);
            if (!cookies.TryGetValue(shardName, out var value) || string.IsNullOrEmpty(value))
            {
                break;
            }

            shards.Add(new(shardName, value));
        }

        return shards;
    }

    /// <summary>The session value the cookies carry (shards joined), or null.</summary>
    public static string? Value(IReadOnlyList<KeyValuePair<string, string>> cookies) =>
        cookies.Count switch
        {
            0 => null,
            1 => cookies[0].Value,
            _ => string.Concat(cookies.Select(c => c.Value)),
        };

    /// <summary>The cookie(s) <see cref="Write"/> sets for <paramref name="value"/>: one, or shards of <see cref="ShardLength"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Pairs(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length <= ShardLength)
        {
            return [new(name, value)];
        }

        var pairs = new List<KeyValuePair<string, string>>();
        for (var i = 0; i * ShardLength < value.Length; i++)
        {
            pairs.Add(new(ShardName(name, i), value.Substring(i * ShardLength, Math.Min(ShardLength, value.Length - (i * ShardLength)))));
        }

        return pairs;
    }

    public static string ShardName(string name, int index) => name + "-" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Appends the Set-Cookie headers for <paramref name="value"/> (sharded when long), and expires
    /// whichever form (single or shards) the request carried that is not used now.
    /// </summary>
    public static void Write(HttpContext context, string name, string value, TimeSpan maxAge)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(value);
        var seconds = (long)Math.Max(0, maxAge.TotalSeconds);
        var headers = context.Response.Headers;
        if (value.Length <= ShardLength)
        {
            headers.Append("Set-Cookie", SetCookie(name, value, seconds));
            ExpireShards(context, name, from: 0);
            return;
        }

        var shards = Pairs(name, value);
        foreach (var shard in shards)
        {
            headers.Append("Set-Cookie", SetCookie(shard.Key, shard.Value, seconds));
        }

        var count = shards.Count;

        if (context.Request.Cookies.ContainsKey(name))
        {
            headers.Append("Set-Cookie", SetCookie(name, "", 0));
        }

        ExpireShards(context, name, from: count);
    }

    /// <summary>Expires the session cookie and every shard the request carried (logout).</summary>
    public static void Clear(HttpContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Headers.Append("Set-Cookie", SetCookie(name, "", 0));
        ExpireShards(context, name, from: 0);
    }

    private static void ExpireShards(HttpContext context, string name, int from)
    {
        for (var i = from; i < MaxShards; i++)
        {
            if (context.Request.Cookies.ContainsKey(ShardName(name, i)))
            {
                context.Response.Headers.Append("Set-Cookie", SetCookie(ShardName(name, i), "", 0));
            }
        }
    }

    private static string SetCookie(string name, string value, long maxAgeSeconds) =>
        $"{name}={value}; Max-Age={maxAgeSeconds.ToString(CultureInfo.InvariantCulture)}; Path=/; Secure; HttpOnly; SameSite=Lax";

    /// <summary>True for the session cookie and its shards: <c>NAME</c> or <c>NAME-</c> followed by digits.</summary>
    public static bool IsSessionCookie(ReadOnlySpan<char> cookieName, string name)
    {
        if (!cookieName.StartsWith(name, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = cookieName[name.Length..];
        if (rest.IsEmpty)
        {
            return true;
        }

        return rest.Length >= 2 && rest[0] == '-' && rest[1..].IndexOfAnyExceptInRange('0', '9') < 0;
    }

    /// <summary>
    /// A Cookie header value without the session cookie and its shards (every other cookie kept, in
    /// order), or null when nothing is left. The name is compared exactly, as browsers send it.
    /// </summary>
    public static string? Strip(string header, string name)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (!header.Contains(name, StringComparison.Ordinal))
        {
            return header;
        }

        var kept = new StringBuilder(header.Length);
        foreach (var part in header.Split(';'))
        {
            var pair = part.AsSpan().Trim();
            if (pair.IsEmpty)
            {
                continue;
            }

            var equals = pair.IndexOf('=');
            var cookieName = (equals < 0 ? pair : pair[..equals]).Trim();
            if (IsSessionCookie(cookieName, name))
            {
                continue;
            }

            if (kept.Length != 0)
            {
                kept.Append("; ");
            }

            kept.Append(pair);
        }

        return kept.Length == 0 ? null : kept.ToString();
    }
}
