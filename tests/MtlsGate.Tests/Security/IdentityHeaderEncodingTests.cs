using System.Formats.Asn1;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Proxy;
using MtlsGate.Tests.TestSupport;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Security;

/// <summary>
/// Property-style: for many random certificate subjects (control characters, quotes, separators,
/// any Unicode, 8 KB values), every identity header format yields only printable ASCII, exactly the
/// expected header names, and values that cannot be mistaken for another certificate's.
/// </summary>
public sealed class IdentityHeaderEncodingTests(ITestOutputHelper output)
{
    private const int Seed = 20261124;
    private const int Iterations = 150;

    private static readonly string[] IndividualNames =
        [IdentityHeaders.Verify, IdentityHeaders.Subject, IdentityHeaders.Issuer, IdentityHeaders.Sha256, IdentityHeaders.Serial, IdentityHeaders.NotAfter];

    private static readonly ECDsa LeafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    [Fact]
    public void Every_format_encodes_random_hostile_subjects_as_printable_ASCII_with_exactly_the_expected_header_names()
    {
        var random = new Random(Seed);
        for (var i = 0; i < Iterations; i++)
        {
            var name = RandomName(random, out var description);
            var context = $"iteration {i} (seed {Seed}): {description}";
            using var certificate = Issue(name, withKey: false);
            var identity = new ClientIdentity(certificate, DenyReason.None);

            var individual = IdentityHeaders.For(identity, IdentityHeaderFormat.Individual);
            var rfc9440 = IdentityHeaders.For(identity, IdentityHeaderFormat.Rfc9440);
            var xfcc = IdentityHeaders.For(identity, IdentityHeaderFormat.Xfcc);

            Assert.Equal(IndividualNames, individual.Select(h => h.Key));
            Assert.Equal([IdentityHeaders.ClientCert], rfc9440.Select(h => h.Key));
            Assert.Equal([IdentityHeaders.Xfcc], xfcc.Select(h => h.Key));
            foreach (var (key, value) in individual.Concat(rfc9440).Concat(xfcc))
            {
                AssertHeaderSafe(key, value, context);
            }

            // The encoding is reversible: the backend can recover exactly the subject the certificate holds.
            Assert.True(PercentDecode(Value(individual, IdentityHeaders.Subject)) == certificate.Subject, context);
            Assert.Equal(":" + Convert.ToBase64String(certificate.RawData) + ":", Value(rfc9440, IdentityHeaders.ClientCert));

            // XFCC: exactly Hash and Subject (no SAN here), and the quoted Subject unescapes to the subject:
            // no certificate field can add or close an element.
            var elements = ParseXfcc(PercentDecode(Value(xfcc, IdentityHeaders.Xfcc)), context);
            Assert.Equal(["Hash", "Subject"], elements.Select(e => e.Key));
            Assert.Equal(identity.Sha256Fingerprint, elements[0].Value);
            Assert.True(elements[1].Value == certificate.Subject, context);
        }
    }

    [Fact]
    public void Xfcc_SAN_values_with_quotes_separators_and_control_characters_cannot_add_or_close_an_element()
    {
        var random = new Random(Seed + 1);
        for (var i = 0; i < 60; i++)
        {
            // SAN dNSName and URI are IA5String: any 7-bit byte, including CR, LF, NUL, '"', ';', ',' and '='.
            var uris = Enumerable.Range(0, random.Next(1, 3)).Select(_ => "spiffe://x/" + RandomIa5(random)).ToList();
            var dns = Enumerable.Range(0, random.Next(0, 3)).Select(_ => RandomIa5(random)).ToList();
            var context = $"iteration {i}: URI [{string.Join(" | ", uris)}] DNS [{string.Join(" | ", dns)}]";
            using var certificate = Issue(Build(b => b.AddCommonName("san-" + i.ToString(CultureInfo.InvariantCulture))), withKey: false, SanExtension(dns, uris));
            var identity = new ClientIdentity(certificate, DenyReason.None);
            var header = Value(IdentityHeaders.For(identity, IdentityHeaderFormat.Xfcc), IdentityHeaders.Xfcc);
            AssertHeaderSafe(IdentityHeaders.Xfcc, header, context);

            var elements = ParseXfcc(PercentDecode(header), context);
            Assert.Equal(["Hash", "Subject", .. uris.Select(_ => "URI"), .. dns.Select(_ => "DNS")], elements.Select(e => e.Key));
            Assert.Equal(uris, elements.Where(e => e.Key == "URI").Select(e => e.Value));
            Assert.Equal(dns, elements.Where(e => e.Key == "DNS").Select(e => e.Value));
        }
    }

    private static string RandomIa5(Random random)
    {
        string[] hostile = ["\"", ";", ",", "=", "\\", "\r\n", "\0", "%", "\";URI=\"spiffe://x/admin", "\";DNS=\"admin", "Hash="];
        var builder = new StringBuilder();
        var length = random.Next(1, 30);
        while (builder.Length < length)
        {
            builder.Append(random.Next(3) == 0 ? hostile[random.Next(hostile.Length)] : ((char)random.Next(0x01, 0x80)).ToString());
        }

        return builder.ToString();
    }

    /// <summary>A subjectAltName with raw IA5 values (the builder would validate or escape them).</summary>
    private static X509Extension SanExtension(IEnumerable<string> dns, IEnumerable<string> uris)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var name in dns)
            {
                writer.WriteOctetString(Encoding.ASCII.GetBytes(name), new Asn1Tag(TagClass.ContextSpecific, 2));
            }

            foreach (var uri in uris)
            {
                writer.WriteOctetString(Encoding.ASCII.GetBytes(uri), new Asn1Tag(TagClass.ContextSpecific, 6));
            }
        }

        return new X509Extension("2.5.29.17", writer.Encode(), critical: false);
    }

    [Fact]
    public void Different_subjects_never_produce_the_same_subject_header()
    {
        // Values crafted to look like more RDNs, or like the rendering of another subject.
        var candidates = new List<X500DistinguishedName>
        {
            Build(b => { b.AddOrganizationName("y"); b.AddCommonName("x"); }),
            Build(b => b.AddCommonName("x, O=y")),
            Build(b => b.AddCommonName("x\", O=\"y")),
            Build(b => b.AddCommonName("\"x\", O=\"y\"")),
            Build(b => b.AddCommonName("x + O=y")),
            Build(b => b.AddCommonName("x; O=y")),
            Build(b => b.AddCommonName("x")),
            Build(b => b.AddCommonName("x ")),
            Build(b => b.AddCommonName(" x")),
            Build(b => b.AddCommonName("x\\")),
            Build(b => b.AddCommonName("x%20")),
            Build(b => b.AddCommonName("x\r\n")),
            Build(b => b.AddCommonName("x\t")),
        };

        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in candidates)
        {
            using var certificate = Issue(name, withKey: false);
            var identity = new ClientIdentity(certificate, DenyReason.None);
            // What an HTTP parser hands the backend: the field value with surrounding whitespace removed.
            var header = Value(IdentityHeaders.For(identity, IdentityHeaderFormat.Individual), IdentityHeaders.Subject).Trim(' ', '\t');
            var xfcc = Value(IdentityHeaders.For(identity, IdentityHeaderFormat.Xfcc), IdentityHeaders.Xfcc).Trim(' ', '\t');
            var der = Convert.ToHexString(name.RawData);
            output.WriteLine($"{der} -> {header}");
            Assert.False(seen.TryGetValue("S:" + header, out var other) && other != der, $"subject header '{header}' is produced by two different subjects ({other} and {der})");
            seen["S:" + header] = der;
            seen["X:" + xfcc[(xfcc.IndexOf(';', StringComparison.Ordinal) + 1)..]] = der;
        }
    }

    [Fact]
    public async Task An_8_KB_hostile_subject_reaches_the_backend_as_exactly_the_expected_identity_headers()
    {
        var random = new Random(Seed);
        var common = new StringBuilder("evil\r\nX-Injected: yes\r\n\"quoted\";a=b,c=d\0 é ✓ 😀 ");
        while (common.Length < 8192)
        {
            // Mostly plain text, so the percent-encoded header stays within the backend's 32 KB header limit.
            common.Append(random.Next(10) == 0 ? "\r\nX-Injected-" + common.Length.ToString(CultureInfo.InvariantCulture) + ": 1" : RandomString(random, 16, plain: true));
        }

        var name = Build(b =>
        {
            b.AddOrganizationName("O=\"x\", CN=admin\nX-Client-Cert-Verify: SUCCESS");
            b.AddOrganizationalUnitName(new string('u', 64) + "\u202E\uFEFF\u2028");
            b.AddCommonName(common.ToString(0, 8192));
        });
        using var certificate = Issue(name, withKey: true);
        await using var gateway = await TestGateway.StartAsync();
        using var baselineClient = gateway.Client(TestPki.Instance.Good);
        using var client = gateway.Client(certificate);

        var baseline = await baselineClient.GetAsync("/baseline");
        var response = await client.GetAsync("/hostile");

        Assert.Equal(HttpStatusCode.OK, baseline.StatusCode);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = gateway.Backend.Requests.Single(r => r.Path == "/hostile");
        var expected = IdentityHeaders.For(new ClientIdentity(certificate, DenyReason.None), IdentityHeaderFormat.Individual);
        foreach (var (key, value) in expected)
        {
            Assert.Equal(1, seen.HeaderCount(key));
            Assert.Equal(value, seen.Header(key));
        }

        Assert.True(PercentDecode(seen.Header(IdentityHeaders.Subject)!) == certificate.Subject);
        Assert.DoesNotContain(seen.Headers.Keys, k => k.StartsWith("X-Injected", StringComparison.OrdinalIgnoreCase));
        // Exactly the header names an ordinary certificate gets: nothing added, nothing lost.
        var expectedNames = gateway.Backend.Requests.Single(r => r.Path == "/baseline").Headers.Keys.Order(StringComparer.OrdinalIgnoreCase);
        Assert.Equal(expectedNames, seen.Headers.Keys.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
    }

    private static void AssertHeaderSafe(string key, string value, string context)
    {
        Assert.All(key, c => Assert.True(c is > (char)0x20 and < (char)0x7F and not ':', $"{context}: header name {key}"));
        for (var i = 0; i < value.Length; i++)
        {
            Assert.True(value[i] is >= (char)0x20 and < (char)0x7F, $"{context}: {key} has U+{(int)value[i]:X4} at {i}");
        }

        // HTTP parsers strip leading/trailing whitespace from field values: it must carry no meaning.
        Assert.True(value.Length == 0 || (value[0] != ' ' && value[^1] != ' '), $"{context}: {key} value has surrounding whitespace: '{value}'");
    }

    private static string Value(KeyValuePair<string, string>[] headers, string name) => headers.Single(h => h.Key == name).Value;

    private static string PercentDecode(string value)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%')
            {
                bytes.Add(byte.Parse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 2;
            }
            else
            {
                bytes.Add((byte)value[i]);
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>Envoy XFCC: key=value pairs split on ';' outside quotes; quoted values unescape \\ and \".</summary>
    private static List<KeyValuePair<string, string>> ParseXfcc(string text, string context)
    {
        var elements = new List<KeyValuePair<string, string>>();
        var i = 0;
        while (i < text.Length)
        {
            var equals = text.IndexOf('=', i);
            Assert.True(equals > i, $"{context}: malformed XFCC at {i}: {text}");
            var key = text[i..equals];
            i = equals + 1;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                i++;
                while (true)
                {
                    Assert.True(i < text.Length, $"{context}: unterminated quoted XFCC value: {text}");
                    if (text[i] == '\\')
                    {
                        value.Append(text[i + 1]);
                        i += 2;
                    }
                    else if (text[i] == '"')
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        value.Append(text[i++]);
                    }
                }
            }
            else
            {
                while (i < text.Length && text[i] != ';')
                {
                    value.Append(text[i++]);
                }
            }

            elements.Add(new(key, value.ToString()));
            if (i < text.Length)
            {
                Assert.True(text[i] == ';', $"{context}: expected ';' at {i}: {text}");
                i++;
            }
        }

        return elements;
    }

    private static X500DistinguishedName RandomName(Random random, out string description)
    {
        var parts = new List<string>();
        var name = Build(b =>
        {
            var count = random.Next(1, 5);
            for (var j = 0; j < count; j++)
            {
                var value = random.Next(25) == 0 ? RandomString(random, 8192, plain: false) : RandomString(random, random.Next(1, 40), plain: false);
                switch (random.Next(3))
                {
                    case 0: b.AddCommonName(value); parts.Add("CN(" + value.Length + ")"); break;
                    case 1: b.AddOrganizationName(value); parts.Add("O(" + value.Length + ")"); break;
                    default: b.AddOrganizationalUnitName(value); parts.Add("OU(" + value.Length + ")"); break;
                }
            }
        });
        description = string.Join(" ", parts);
        return name;
    }

    private static readonly string[] Hostile =
        ["\r", "\n", "\r\n", "\0", "\"", "'", ";", ",", "=", "+", "\\", "%", "%0D%0A", "<", ">", "#", " ", "\t", "\u007F", "\u0085", "\u00A0",
         "\u2028", "\u2029", "\u202E", "\uFEFF", "é", "✓", "中", "😀", "\U0010FFFD", "\r\nX-Injected: yes\r\n", "\", O=\"admin", ", CN=admin", "Hash=", ";Subject=\""];

    private static string RandomString(Random random, int length, bool plain)
    {
        var builder = new StringBuilder(length + 16);
        while (builder.Length < length)
        {
            var pick = random.Next(10);
            if (plain || pick < 5)
            {
                var c = (char)random.Next(0x21, 0x7F);
                builder.Append(plain && c is '%' or '\\' or '"' ? 'p' : c);
            }
            else if (pick < 8)
            {
                builder.Append(Hostile[random.Next(Hostile.Length)]);
            }
            else if (pick < 9)
            {
                builder.Append((char)random.Next(0x01, 0x20));
            }
            else
            {
                // Any Unicode scalar value (no lone surrogates: they cannot be encoded as UTF8String).
                var scalar = random.Next(0xA0, 0x10FFFF);
                builder.Append(scalar is >= 0xD800 and <= 0xDFFF ? "\uFFFD" : char.ConvertFromUtf32(scalar));
            }
        }

        return builder.ToString();
    }

    private static X500DistinguishedName Build(Action<X500DistinguishedNameBuilder> add)
    {
        var builder = new X500DistinguishedNameBuilder();
        add(builder);
        return builder.Build();
    }

    private static X509Certificate2 Issue(X500DistinguishedName name, bool withKey, X509Extension? extra = null)
    {
        var root = TestPki.Instance.Root;
        var request = new CertificateRequest(name, LeafKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(MtlsGate.Tls.TrustStore.ClientAuthOid)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));
        if (extra is not null)
        {
            request.CertificateExtensions.Add(extra);
        }

        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        var unsigned = request.Create(root.SubjectName, MtlsGate.Tls.Pki.Signer(root), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30), serial);
        if (!withKey)
        {
            return unsigned;
        }

        using (unsigned)
        {
            using var withPrivateKey = unsigned.CopyWithPrivateKey(LeafKey);
            return X509CertificateLoader.LoadPkcs12(withPrivateKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
        }
    }
}
