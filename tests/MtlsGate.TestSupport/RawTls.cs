using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace MtlsGate.Tests.TestSupport;

/// <summary>Raw bytes over a real TLS connection: for what HttpClient would hide (exact bytes, zero-byte closes, smuggling).</summary>
public static class RawTls
{
    public static async Task<SslStream> ConnectAsync(Uri gateway, X509Certificate2? certificate, string alpn = "http/1.1")
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", gateway.Port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        var options = TestGateway.ClientTls(certificate);
        options.ApplicationProtocols = [new SslApplicationProtocol(alpn)];
        await ssl.AuthenticateAsClientAsync(options);
        return ssl;
    }

    /// <summary>Sends <paramref name="request"/> and reads until the server closes (or 10 s pass).</summary>
    public static async Task<byte[]> ExchangeAsync(Uri gateway, X509Certificate2? certificate, string request)
    {
        await using var ssl = await ConnectAsync(gateway, certificate);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes(request));
        await ssl.FlushAsync();
        return await ReadToCloseAsync(ssl);
    }

    public static async Task<byte[]> ReadToCloseAsync(Stream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var output = new MemoryStream();
        var buffer = new byte[16384];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                output.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // A reset is a close too; what counts is the bytes that arrived before it.
        }

        return output.ToArray();
    }

    /// <summary>The response with the Date header removed (the only header allowed to differ).</summary>
    public static string WithoutDate(byte[] response) =>
        string.Join("\r\n", Encoding.ASCII.GetString(response).Split("\r\n").Where(l => !l.StartsWith("Date:", StringComparison.OrdinalIgnoreCase)));
}
