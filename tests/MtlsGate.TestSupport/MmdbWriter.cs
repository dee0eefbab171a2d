using System.Net;
using System.Text;

namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// Writes a tiny MaxMind DB (format 2.0, IPv4 tree, 24-bit records) mapping IPv4 prefixes to
/// country ISO codes: the test database for country rules, generated in-test (nothing downloaded).
/// </summary>
public static class MmdbWriter
{
    public static byte[] CountryDatabase(params (string Prefix, string IsoCode)[] entries)
    {
        // Data section: one record per entry, { "country": { "iso_code": CODE } }.
        var data = new MemoryStream();
        var offsets = new List<int>();
        foreach (var (_, code) in entries)
        {
            offsets.Add((int)data.Length);
            Map(data, 1);
            Text(data, "country");
            Map(data, 1);
            Text(data, "iso_code");
            Text(data, code);
        }

        // Search tree: a binary trie over the prefix bits; node 0 is the root.
        var nodes = new List<int[]> { new[] { -1, -1 } };
        var leaves = new List<(int Node, int Bit, int Entry)>();
        for (var e = 0; e < entries.Length; e++)
        {
            var parts = entries[e].Prefix.Split('/');
            var bytes = IPAddress.Parse(parts[0]).GetAddressBytes();
            var length = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            var node = 0;
            for (var depth = 0; depth < length; depth++)
            {
                var bit = (bytes[depth / 8] >> (7 - (depth % 8))) & 1;
                if (depth == length - 1)
                {
                    leaves.Add((node, bit, e));
                    break;
                }

                if (nodes[node][bit] < 0)
                {
                    nodes.Add(new[] { -1, -1 });
                    nodes[node][bit] = nodes.Count - 1;
                }

                node = nodes[node][bit];
            }
        }

        var count = nodes.Count;
        var tree = new MemoryStream();
        for (var n = 0; n < count; n++)
        {
            for (var bit = 0; bit < 2; bit++)
            {
                var leaf = leaves.FindIndex(l => l.Node == n && l.Bit == bit);
                var record = leaf >= 0 ? count + 16 + offsets[leaves[leaf].Entry] : nodes[n][bit] >= 0 ? nodes[n][bit] : count;
                tree.Write([(byte)(record >> 16), (byte)(record >> 8), (byte)record]);
            }
        }

        var file = new MemoryStream();
        file.Write(tree.ToArray());
        file.Write(new byte[16]);
        file.Write(data.ToArray());
        file.Write([0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8]);
        Map(file, 9);
        Text(file, "binary_format_major_version"); Unsigned(file, 5, 2);
        Text(file, "binary_format_minor_version"); Unsigned(file, 5, 0);
        Text(file, "build_epoch"); Uint64(file, (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Text(file, "database_type"); Text(file, "GeoLite2-Country");
        Text(file, "description"); Map(file, 1); Text(file, "en"); Text(file, "MtlsGate test countries");
        Text(file, "ip_version"); Unsigned(file, 5, 4);
        Text(file, "languages"); Array(file, 1); Text(file, "en");
        Text(file, "node_count"); Unsigned(file, 6, (uint)count);
        Text(file, "record_size"); Unsigned(file, 5, 24);
        return file.ToArray();
    }

    private static void Control(Stream s, int type, int size)
    {
        if (type <= 7)
        {
            s.WriteByte((byte)((type << 5) | size));
        }
        else
        {
            s.WriteByte((byte)size);
            s.WriteByte((byte)(type - 7));
        }
    }

    private static void Map(Stream s, int pairs) => Control(s, 7, pairs);

    private static void Array(Stream s, int items) => Control(s, 11, items);

    private static void Text(Stream s, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Control(s, 2, bytes.Length);
        s.Write(bytes);
    }

    private static void Unsigned(Stream s, int type, uint value)
    {
        var bytes = BitConverter.GetBytes(value).Reverse().SkipWhile(b => b == 0).ToArray();
        Control(s, type, bytes.Length);
        s.Write(bytes);
    }

    private static void Uint64(Stream s, ulong value)
    {
        var bytes = BitConverter.GetBytes(value).Reverse().SkipWhile(b => b == 0).ToArray();
        Control(s, 9, bytes.Length);
        s.Write(bytes);
    }
}
