using Microsoft.Playwright;
using ZXing;
using ZXing.Common;
using ZXing.QrCode;

namespace MtlsGate.Tests.Admin;

/// <summary>
/// Headless Chromium driven by Playwright for .NET (TESTING.md): Debian's <c>/usr/bin/chromium</c>, no
/// browser download, a fresh context per test. The admin page needs no client certificate on loopback.
/// </summary>
public sealed class AdminBrowser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private AdminBrowser(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
    }

    public IPage Page { get; }

    public static async Task<AdminBrowser> StartAsync()
    {
        var chromium = Tool.Require("chromium");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
                Timeout = 60_000,
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 760 } });
            context.SetDefaultTimeout(30_000);
            var page = await context.NewPageAsync();
            return new AdminBrowser(playwright, browser, page);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Reads the QR code image's pixels through a canvas and decodes them with ZXing.Net, in-process.</summary>
    public async Task<string> DecodeQrInProcessAsync(string selector)
    {
        var pixels = await Page.EvaluateAsync<QrPixels>(
            """
            selector => {
              const img = document.querySelector(selector);
              const canvas = document.createElement("canvas");
              canvas.width = img.naturalWidth;
              canvas.height = img.naturalHeight;
              const context = canvas.getContext("2d");
              context.drawImage(img, 0, 0);
              const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
              let binary = "";
              for (let i = 0; i < data.length; i++) binary += String.fromCharCode(data[i]);
              return { width: canvas.width, height: canvas.height, rgba: btoa(binary) };
            }
            """, selector);
        var source = new RGBLuminanceSource(Convert.FromBase64String(pixels.Rgba), pixels.Width, pixels.Height, RGBLuminanceSource.BitmapFormat.RGBA32);
        var result = new QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(source)));
        return result?.Text ?? throw new InvalidOperationException("ZXing found no QR code in the image.");
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    /// <summary>What the page's canvas returns (Playwright fills it by property name).</summary>
    public sealed class QrPixels
    {
        public int Width { get; set; }

        public int Height { get; set; }

        public string Rgba { get; set; } = "";
    }
}
