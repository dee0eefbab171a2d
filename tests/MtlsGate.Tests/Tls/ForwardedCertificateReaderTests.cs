using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Tls;

/// <summary>The forwarded-certificate reader: every format read back, and every hostile value a problem, never an exception.</summary>
public sealed class ForwardedCertificateReaderTests
{
    private static readonly TestPki Pki = TestPki.Instance;

    private static string Sequence(byte[] bytes) => ":" + Convert.ToBase64String(bytes) + ":";

    [Theory]
    [InlineData(EdgeFormat.Rfc9440)]
    [InlineData(EdgeFormat.Xfcc)]
    [InlineData(EdgeFormat.Cloudflare)]
    public void A_certificate_written_in_each_format_is_read_back_byte_for_byte(EdgeFormat format)
    {
        var (certificate, chain) = ForwardedCertificateReader.Write(format, Pki.ViaUnknownIntermediate, format == EdgeFormat.Cloudflare ? [] : [Pki.UnknownIntermediate]);

        var read = ForwardedCertificateReader.Read(format, certificate, chain);

        Assert.Null(read.Problem);
        Assert.Equal(Pki.ViaUnknownIntermediate.RawData, read.Leaf!.RawData);
        if (format != EdgeFormat.Cloudflare)
        {
            Assert.Equal(Pki.UnknownIntermediate.RawData, Assert.Single(read.Chain!).RawData);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void An_absent_or_empty_header_is_no_certificate_not_a_problem(string? value)
    {
        var read = ForwardedCertificateReader.Read(EdgeFormat.Rfc9440, value, null);

        Assert.Same(ForwardedCertificate.Absent, read);
    }

    public static TheoryData<string, string?, string> Hostile() => new()
    {
        { "not base64 at all", null, "RFC 8941 byte sequence" },
        { ":!!!not-base64!!!:", null, "not base64" },
        { ":" + Convert.ToBase64String(Pki.Good.RawData[..(Pki.Good.RawData.Length / 2)]) + ":", null, "truncated or malformed" },
        { ":" + Convert.ToBase64String([.. Pki.Good.RawData, 0x00]) + ":", null, "truncated or malformed" },
        { ":" + Convert.ToBase64String("hello"u8.ToArray()) + ":", null, "no SEQUENCE" },
        { ":" + new string('A', ForwardedCertificateReader.MaxCertificateChars) + ":", null, "cap" },
        { Sequence(Pki.Good.RawData) + ", " + Sequence(Pki.Good.RawData), null, "not base64" },
        { Sequence(Pki.Good.RawData), string.Join(", ", Enumerable.Repeat(":AQ==:", 200)), "200 certificates" },
        { Sequence(Pki.Good.RawData), ":AQ==:", "member 1" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void A_hostile_value_is_a_problem_with_its_reason_and_no_certificate(string certificate, string? chain, string expected)
    {
        var read = ForwardedCertificateReader.Read(EdgeFormat.Rfc9440, certificate, chain);

        Assert.True(read.IsInvalid);
        Assert.Null(read.Leaf);
        Assert.Contains(expected, read.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_of_eleven_intermediates_is_over_the_cap_before_any_is_decoded()
    {
        var chain = string.Join(", ", Enumerable.Repeat(Sequence(Pki.Intermediate.RawData), ForwardedCertificateReader.MaxChainLength + 1));

        var read = ForwardedCertificateReader.Read(EdgeFormat.Rfc9440, Sequence(Pki.Good.RawData), chain);

        Assert.Contains("over the 10 cap", read.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_base64_padding_is_accepted_as_RFC_8941_asks()
    {
        var unpadded = ":" + Convert.ToBase64String(Pki.Good.RawData).TrimEnd('=') + ":";

        Assert.Equal(Pki.Good.RawData, ForwardedCertificateReader.Read(EdgeFormat.Rfc9440, unpadded, null).Leaf!.RawData);
    }

    [Fact]
    public void Xfcc_reads_the_last_element_which_is_the_edges_own()
    {
        var (own, _) = ForwardedCertificateReader.Write(EdgeFormat.Xfcc, Pki.Good, null);
        var (clients, _) = ForwardedCertificateReader.Write(EdgeFormat.Xfcc, Pki.OtherRootLeaf, null);

        var read = ForwardedCertificateReader.Read(EdgeFormat.Xfcc, clients + "," + own, null);

        Assert.Equal(Pki.Good.RawData, read.Leaf!.RawData);
    }

    [Theory]
    [InlineData("Hash=abc;Subject=\"CN=x\"", "no Cert=")]
    [InlineData("Cert=\"unterminated", "unbalanced quotes")]
    [InlineData("Cert=\"%2D%2D%2D%2Dnot-pem\"", "not a URL-encoded PEM certificate")]
    public void Xfcc_without_a_readable_certificate_is_a_problem(string header, string expected)
    {
        Assert.Contains(expected, ForwardedCertificateReader.Read(EdgeFormat.Xfcc, header, null).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Cloudflare_format_is_plain_base64_DER_and_refuses_anything_else()
    {
        Assert.Equal(Pki.Good.RawData, ForwardedCertificateReader.Read(EdgeFormat.Cloudflare, Convert.ToBase64String(Pki.Good.RawData), null).Leaf!.RawData);
        Assert.Contains("not base64", ForwardedCertificateReader.Read(EdgeFormat.Cloudflare, "%%%", null).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_with_CR_LF_in_its_subject_is_read_as_a_certificate_and_its_subject_is_never_a_header()
    {
        var read = ForwardedCertificateReader.Read(EdgeFormat.Rfc9440, Sequence(Pki.NastySubject.RawData), null);

        Assert.Null(read.Problem);
        Assert.Contains("\r\n", read.Leaf!.Subject, StringComparison.Ordinal);
    }
}
