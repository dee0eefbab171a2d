using System.Text;

namespace MtlsGate.Text;

/// <summary>
/// Makes certificate content safe as an HTTP header value: every byte outside printable ASCII, and
/// '%' itself, becomes %XX of its UTF-8 encoding. No CR, LF, NUL or other control character can
/// survive, so no certificate field can split a header or forge another one.
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
