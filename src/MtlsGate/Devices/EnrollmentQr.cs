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

    /// <summary>Two modules per character cell (▀ ▄ █), dark on a light terminal background inverted so it scans on dark ones too.</summary>
    public static string Terminal(Uri link)
    {
        ArgumentNullException.ThrowIfNull(link);
        using var data = QRCodeGenerator.GenerateQrCode(link.AbsoluteUri, QRCodeGenerator.ECCLevel.M);
        return new AsciiQRCode(data).GetGraphicSmall(drawQuietZones: true, invert: true, endOfLine: "\n");
    }
}
