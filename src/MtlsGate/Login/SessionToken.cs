using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using MtlsGate.Policy;

namespace MtlsGate.Login;

/// <summary>
/// The session, self-contained: id, expiry, how it started, subject, verified e-mail and the groups
/// that matched the allow-list. Serialized small (version byte, fixed fields, length-prefixed UTF-8),
/// protected with ASP.NET Data Protection (authenticated encryption: AES-256-CBC + HMAC-SHA256 by
/// default, https://learn.microsoft.com/aspnet/core/security/data-protection/implementation/authenticated-encryption-details),
/// and written base64url, so the cookie value needs no quoting or escaping (RFC 6265 section 4.1.1 cookie-octet).
/// </summary>
internal sealed record SessionToken(byte[] Id, DateTimeOffset ExpiresAt, LoginMethod Method, string Subject, string? Email, IReadOnlyList<string> Groups)
{
    // Version 2 adds the certificate a certificate-started session came from (version 1 tokens are refused: log in again).
    private const byte Version = 2;

    /// <summary>The data-protection purpose: tokens of another purpose (or another application) never unprotect here.</summary>
    public const string Purpose = "MtlsGate.Login.Session.v1";

    private const int MaxField = 64 * 1024;

    public string IdHex => Convert.ToHexStringLower(Id);

    /// <summary>For a session started from a certificate: that certificate's SHA-256 (the device inventory blocks the session with the device); else null.</summary>
    public string? CertificateSha256 { get; init; }

    public static SessionToken New(DateTimeOffset expiresAt, LoginMethod method, string subject, string? email, IReadOnlyList<string> groups) =>
        new(RandomNumberGenerator.GetBytes(16), expiresAt, method, subject, email, groups);

    public string Protect(IDataProtector protector)
    {
        ArgumentNullException.ThrowIfNull(protector);
        return Base64UrlEncode(protector.Protect(Serialize()));
    }

    /// <summary>The token inside <paramref name="value"/>, or null with the reason: not base64url, forged, truncated, another key ring.</summary>
    public static SessionToken? Unprotect(IDataProtector protector, string value, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(protector);
        problem = null;
        byte[] raw;
        try
        {
            raw = Base64UrlDecode(value);
        }
        catch (FormatException)
        {
            problem = "not base64url";
            return null;
        }

        byte[] plain;
        try
        {
            plain = protector.Unprotect(raw);
        }
        catch (CryptographicException)
        {
            problem = "not authentic (forged, truncated, or from a key ring this gateway does not hold)";
            return null;
        }

        var token = Deserialize(plain);
        problem = token is null ? "malformed payload" : null;
        return token;
    }

    public LoginSession ToSession() => new(IdHex, Subject, Email, Method, ExpiresAt) { CertificateSha256 = CertificateSha256 };

    private byte[] Serialize()
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(Version);
        writer.Write(Id);
        writer.Write(ExpiresAt.ToUnixTimeSeconds());
        writer.Write((byte)Method);
        writer.Write(Subject);
        writer.Write(Email ?? "");
        writer.Write((byte)Math.Min(Groups.Count, 255));
        foreach (var group in Groups.Take(255))
        {
            writer.Write(group);
        }

        writer.Write(CertificateSha256 ?? "");
        writer.Flush();
        return stream.ToArray();
    }

    private static SessionToken? Deserialize(byte[] plain)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(plain), Encoding.UTF8);
            if (reader.ReadByte() != Version)
            {
                return null;
            }

            var id = reader.ReadBytes(16);
            var expires = DateTimeOffset.FromUnixTimeSeconds(reader.ReadInt64());
            var method = (LoginMethod)reader.ReadByte();
            if (id.Length != 16 || !Enum.IsDefined(method))
            {
                return null;
            }

            var subject = reader.ReadString();
            var email = reader.ReadString();
            var groups = new string[reader.ReadByte()];
            for (var i = 0; i < groups.Length; i++)
            {
                groups[i] = reader.ReadString();
            }

            var certificate = reader.ReadString();
            if (subject.Length is 0 or > MaxField || reader.BaseStream.Position != plain.Length)
            {
                return null;
            }

            return new SessionToken(id, expires, method, subject, email.Length == 0 ? null : email, groups)
            {
                CertificateSha256 = certificate.Length == 0 ? null : certificate,
            };
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentOutOfRangeException or FormatException)
        {
            return null;
        }
    }

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Base64UrlDecode(string value)
    {
        if (value.Length == 0 || value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            throw new FormatException();
        }

        var padded = value.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", 0 => "", _ => throw new FormatException() };
        return Convert.FromBase64String(padded);
    }
}
