using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using MtlsGate.Tests.BlackBox;
using ZXing;
using ZXing.Common;
using ZXing.QrCode;

namespace MtlsGate.Tests.Admin;

/// <summary>
/// <c>mtlsgate client enroll</c> (the published binary) next to a running gateway on the same
/// configuration: it prints a link (also as a terminal QR code that decodes to the same link when read
/// as light-on-dark) and a password; the gateway serves the .p12 once; the password opens it.
/// </summary>
[Collection(BlackBoxTests.Name)]
public sealed partial class EnrollCommandTests(PublishedGatewayFixture fixture)
{
    [Fact]
    public async Task Client_enroll_prints_a_link_its_terminal_QR_code_and_the_password_and_the_gateway_serves_it_once()
    {
        using var ca = new EnrollmentCa();
        await using var gateway = await TestGateway.StartAsync(ca.Configure);

        var enroll = await ProcessRunner.RunAsync(fixture.Executable, ["client", "enroll", "erin-phone", "--config", gateway.ConfigFile], TimeSpan.FromSeconds(60));

        Assert.True(enroll.ExitCode == 0, enroll.ToString());
        var link = Link().Match(enroll.StandardOutput);
        var password = Password().Match(enroll.StandardOutput);
        Assert.True(link.Success && password.Success, enroll.StandardOutput);
        Assert.Equal(link.Value, DecodeTerminalQr(enroll.StandardOutput));
        Assert.DoesNotContain(password.Groups[1].Value, link.Value, StringComparison.Ordinal);
        using var anonymous = gateway.Client(null);
        var path = new Uri(link.Value).PathAndQuery;

        using var download = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var certificates = X509CertificateLoader.LoadPkcs12Collection(await download.Content.ReadAsByteArrayAsync(), password.Groups[1].Value);
        Assert.Contains(certificates, c => c.HasPrivateKey && c.Subject.Contains("CN=erin-phone", StringComparison.Ordinal));
        using var again = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Client_enroll_without_a_CA_folder_says_how_to_turn_enrolment_on()
    {
        await using var gateway = await TestGateway.StartAsync();

        var enroll = await ProcessRunner.RunAsync(fixture.Executable, ["client", "enroll", "erin", "--config", gateway.ConfigFile], TimeSpan.FromSeconds(60));

        Assert.Equal(2, enroll.ExitCode);
        Assert.Contains("MtlsGate:Enrollment:CaFolder", enroll.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// Reads the terminal QR code as a light-on-dark terminal shows it: a block glyph's half is light
    /// (▀ top, ▄ bottom, █ both), a space is dark; 4×4 pixels per module, then ZXing.Net.
    /// </summary>
    private static string DecodeTerminalQr(string output)
    {
        var lines = output.Split('\n').Where(l => l.Length > 0 && l.All(c => c is ' ' or '█' or '▀' or '▄') && l.Any(c => c != ' ')).ToList();
        var width = lines.Max(l => l.Length);
        var rows = lines.Count * 2;
        // A quiet zone of light modules around it, as the terminal background would not provide one.
        const int Scale = 4, Margin = 4;
        var w = (width + 2 * Margin) * Scale;
        var h = (rows + 2 * Margin) * Scale;
        var gray = new byte[w * h];
        Array.Fill(gray, (byte)255);
        for (var y = 0; y < lines.Count; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var c = x < lines[y].Length ? lines[y][x] : ' ';
                SetModule(gray, w, x + Margin, 2 * y + Margin, light: c is '█' or '▀');
                SetModule(gray, w, x + Margin, 2 * y + 1 + Margin, light: c is '█' or '▄');
            }
        }

        var source = new RGBLuminanceSource(gray, w, h, RGBLuminanceSource.BitmapFormat.Gray8);
        return new QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(source)))?.Text ?? throw new InvalidOperationException("no QR code:\n" + output);

        static void SetModule(byte[] pixels, int stride, int mx, int my, bool light)
        {
            for (var dy = 0; dy < Scale; dy++)
            {
                for (var dx = 0; dx < Scale; dx++)
                {
                    pixels[((my * Scale) + dy) * stride + (mx * Scale) + dx] = light ? (byte)255 : (byte)0;
                }
            }
        }
    }

    [GeneratedRegex(@"https://\S+/\.mtlsgate/enroll/[A-Za-z0-9_-]{22}")]
    private static partial Regex Link();

    [GeneratedRegex(@"password (\S+)")]
    private static partial Regex Password();
}
