using System.Globalization;

namespace MtlsGate.Tests.TestSupport;

/// <summary>Drives <c>openssl s_client</c> with a raw HTTP/1.1 request on stdin.</summary>
public static class OpensslClient
{
    public const string RawRequest = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

    public static Task<ProcessResult> RequestAsync(int port, string caFile, ClientFiles? client, TlsVersion tls, IEnumerable<string>? extraArguments = null, string request = RawRequest)
    {
        List<string> arguments = ["s_client", "-connect", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-CAfile", caFile, tls == TlsVersion.V12 ? "-tls1_2" : "-tls1_3", "-ign_eof"];
        if (client is not null)
        {
            arguments.AddRange(["-cert", client.Certificate, "-key", client.Key]);
        }

        arguments.AddRange(extraArguments ?? []);
        return ProcessRunner.RunAsync("openssl", arguments, TimeSpan.FromSeconds(20), request);
    }
}
