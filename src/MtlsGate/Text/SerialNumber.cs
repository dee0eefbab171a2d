namespace MtlsGate.Text;

/// <summary>The one way a certificate serial number is written: upper-case hex without leading zero bytes (CRLs, deny-lists, headers, the CLI).</summary>
public static class SerialNumber
{
    /// <summary>Upper-case hex of a serial number without leading zero bytes.</summary>
    public static string Normalize(ReadOnlySpan<byte> serial, bool bigEndian = true)
    {
        var bytes = serial.ToArray();
        if (!bigEndian)
        {
            Array.Reverse(bytes);
        }

        var start = 0;
        while (start < bytes.Length - 1 && bytes[start] == 0)
        {
            start++;
        }

        return Convert.ToHexString(bytes, start, bytes.Length - start);
    }

    /// <summary>Normalizes a serial given as hex text (with or without colons, any case).</summary>
    public static string Normalize(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        var clean = hex.Replace(":", "", StringComparison.Ordinal).Trim();
        if (clean.Length % 2 == 1)
        {
            clean = "0" + clean;
        }

        return Normalize(Convert.FromHexString(clean));
    }
}
