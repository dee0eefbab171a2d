using QRCoder;

namespace MtlsGate.Devices;

/// <summary>An enrolment link as a QR code (QRCoder): a PNG for the admin page, UTF-8 half blocks for a terminal.</summary>
public static class EnrollmentQr
{
    /// <summary>PNG, 8 pixels per module, with the quiet zone (scanners need it).</summary>
    public static byte[] Png(Uri link)
    {
        ArgumentNullException.ThrowIfNull(link);
        using var data = QRCodeGenerator.GenerateQrCode(link.AbsoluteUri, QRCodeGenerator.ECCLevel.M);
        return new PngByteQRCode(data).GetGraphic(8);
    }

    /// <summary>Two modules per character cell (▀ ▄ █); the glyphs draw the light modules, so it reads right on the usual light-on-dark terminal.</summary>
    public static string Terminal(Uri link)
    {
        ArgumentNullException.ThrowIfNull(link);
        using var data = QRCodeGenerator.GenerateQrCode(link.AbsoluteUri, QRCodeGenerator.ECCLevel.M);
        return new AsciiQRCode(data).GetGraphicSmall(drawQuietZones: true, invert: false, endOfLine: "\n");
    }
}
