using System.Text;

namespace MtlsGate.Text;

/// <summary>
/// Makes certificate content safe as an HTTP header value: every byte outside printable ASCII, and
/// '%' itself, becomes %XX of its UTF-8 encoding. No CR, LF, NUL or other control character can
/// survive, so no certificate field can split a header or forge another one. The one home of the
/// header-safe and log-safe encodings.
/// </summary>
public static class HeaderEncoding
{
    public static string Encode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (IsPlain(value))
        {
            return value;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and < 0x7F && b != (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// For text that is already percent-encoded (a raw request path): printable ASCII, '%' included,
    /// stays as is; anything else becomes %XX of its UTF-8 encoding (Kestrel refuses control
    /// characters in targets anyway), so no log line can be split or forged.
    /// </summary>
    public static string EncodePrintable(ReadOnlySpan<char> value)
    {
        if (!value.ContainsAnyExceptInRange((char)0x20, (char)0x7E))
        {
            return value.ToString();
        }

        var builder = new StringBuilder(value.Length * 3);
        foreach (var b in Encoding.UTF8.GetBytes(value.ToArray()))
        {
            if (b is >= 0x20 and < 0x7F)
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static bool IsPlain(string value)
    {
        foreach (var c in value)
        {
            if (c is < (char)0x20 or >= (char)0x7F or '%')
            {
                return false;
            }
        }

        return true;
    }
}
