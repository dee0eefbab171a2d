using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using MtlsGate.Configuration;

namespace MtlsGate.Devices;

/// <summary>Issues a device certificate from the configured CA folder (<see cref="CaFolderIssuer"/>; tests may fake it).</summary>
public interface IDeviceCertificateIssuer
{
    /// <summary>
    /// A client certificate for <paramref name="name"/> as a password-protected PKCS#12 (key, leaf first,
    /// then the chain; <paramref name="compatible"/>: 3DES/SHA-1 for older importers), recorded in the
    /// CA folder like <c>client issue</c> so <c>client list</c> and <c>client revoke</c> know it.
    /// </summary>
    IssuedDevice Issue(string caFolder, string name, string password, bool compatible);
}

/// <summary>A certificate issued for enrolment.</summary>
public sealed record IssuedDevice(string Sha256, string Serial, DateTimeOffset NotAfter, byte[] Pkcs12);

/// <summary>What the admin sees once: the link (its QR code), the password, and until when the link works.</summary>
public sealed record EnrollmentTicket(string Name, string Sha256, Uri Url, string Password, DateTimeOffset ExpiresAt);

/// <summary>
/// One-time enrolment links. A link carries a random 128-bit token (base64url, 22 characters); the
/// store keeps only its SHA-256, so a copy of the database cannot be turned into a working link. A
/// link works once (<see cref="IDeviceStore.RedeemEnrollmentAsync"/> is atomic) and for
/// <see cref="Lifetime"/>. The password of the .p12 is shown to the admin and never stored, never in
/// the link: whoever sees only the link (a shoulder, a chat log, a proxy log) gets an encrypted file.
/// </summary>
public sealed class Enrollments(IDeviceStore store, IDeviceCertificateIssuer issuer, GatewayState state, TimeProvider time, IServer? server = null)
{
    public const string PathPrefix = "/.mtlsgate/enroll/";

    /// <summary>How long a link works.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    private const int TokenBytes = 16;
    private const string PasswordAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    private readonly ConcurrentDictionary<string, DateTimeOffset> _redeemed = new(StringComparer.Ordinal);

    /// <summary>Null when enrolment is possible; else why not (shown on the page, returned by the API).</summary>
    public string? Unavailable => state.Current.Enrollment.CaFolder is null
        ? "Enrolment is off: set MtlsGate:Enrollment:CaFolder to the folder 'mtlsgate init' made (with ca.key)."
        : null;

    /// <summary>Fingerprints redeemed by this process and not yet seen connecting (the watcher marks them enrolled).</summary>
    public IReadOnlyCollection<string> AwaitingFirstConnection => (IReadOnlyCollection<string>)_redeemed.Keys;

    /// <summary>1-64 characters of letters, digits, '-', '_', '.', '@' (the CN of the certificate, as <c>client issue</c>).</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@');

    /// <summary>Issues the certificate and stores the enrolment (token hashed); throws <see cref="InvalidOperationException"/> when enrolment is off.</summary>
    public async Task<EnrollmentTicket> CreateAsync(string name, bool compatible, CancellationToken cancellationToken)
    {
        var caFolder = state.Current.Enrollment.CaFolder ?? throw new InvalidOperationException(Unavailable);
        if (!IsValidName(name))
        {
            throw new ArgumentException("The name must be 1-64 characters of letters, digits, '-', '_', '.', '@'.", nameof(name));
        }

        var password = NewPassword();
        var issued = issuer.Issue(caFolder, name, password, compatible);
        var token = NewToken();
        var now = time.GetUtcNow();
        var expiresAt = now + Lifetime;
        await store.CreateEnrollmentAsync(new EnrollmentRecord(Hash(token), name, issued.Sha256, issued.Pkcs12, now, expiresAt, null), cancellationToken).ConfigureAwait(false);
        return new EnrollmentTicket(name, issued.Sha256, new Uri(BaseUrl(), PathPrefix + token), password, expiresAt);
    }

    /// <summary>The enrolment for <paramref name="token"/>, marked used; null when the token is malformed, unknown, expired or used.</summary>
    public async Task<EnrollmentRecord?> RedeemAsync(string token, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(token))
        {
            return null;
        }

        var redeemed = await store.RedeemEnrollmentAsync(Hash(token), time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (redeemed is not null)
        {
            _redeemed[redeemed.Sha256] = time.GetUtcNow();
        }

        return redeemed;
    }

    /// <summary>Called by the watcher once the device connected.</summary>
    internal void Enrolled(string sha256) => _redeemed.TryRemove(sha256, out _);

    /// <summary>Base64url without padding of 16 bytes: exactly 22 characters of [A-Za-z0-9_-].</summary>
    public static bool IsWellFormed(string token) =>
        token.Length == 22 && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>SHA-256 of the token's ASCII, lower-case hex: what the store keeps.</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token)));

    public static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TokenBytes));

    /// <summary>20 characters from an unambiguous alphabet (~114 bits): typed once on a phone.</summary>
    public static string NewPassword() => string.Create(20, 0, (span, _) =>
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = PasswordAlphabet[RandomNumberGenerator.GetInt32(PasswordAlphabet.Length)];
        }
    });

    /// <summary>
    /// <c>Enrollment:PublicUrl</c>, else https:// + the server certificate's first DNS name (else
    /// localhost) + the port the gateway listener is bound to.
    /// </summary>
    public Uri BaseUrl()
    {
        var snapshot = state.Current;
        if (snapshot.Enrollment.PublicUrl is { } configured)
        {
            return configured;
        }

        var host = "localhost";
        if (snapshot.ServerCertificate?.Leaf is { } leaf)
        {
            var names = new System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension(
                leaf.Extensions["2.5.29.17"]?.RawData ?? []);
            host = leaf.Extensions["2.5.29.17"] is null ? host : names.EnumerateDnsNames().FirstOrDefault() ?? host;
        }

        var port = snapshot.GatewayEndpoints.Count > 0 ? snapshot.GatewayEndpoints[0].Port : 443;
        var bound = server?.Features.Get<IServerAddressesFeature>()?.Addresses
            .Select(a => new Uri(a)).FirstOrDefault(u => u.Scheme == Uri.UriSchemeHttps);
        if (bound is not null)
        {
            port = bound.Port;
        }

        return new UriBuilder(Uri.UriSchemeHttps, host, port).Uri;
    }
}
