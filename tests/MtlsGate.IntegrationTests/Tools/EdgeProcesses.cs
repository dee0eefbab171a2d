using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Tools;

/// <summary>
/// The edges in front of the gateway, as real child processes on loopback: HAProxy from Debian
/// terminating the clients' TLS and forwarding their certificate as RFC 9440 <c>Client-Cert</c>
/// (../shared/design/TESTING.md, "A TLS-terminating edge"), and a small Python forwarder standing in
/// for a tunnel connector (plain HTTP to the gateway's loopback edge listener, headers passed on).
/// </summary>
public sealed class EdgeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _folder;

    private EdgeProcess(Process process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public string Folder => _folder;

    /// <summary>
    /// HAProxy: TLS for clients on a free loopback port (server certificate for localhost from the test
    /// root; any client certificate accepted and forwarded, whatever its CA or dates, as Cloudflare
    /// does), then TLS to the gateway presenting <paramref name="edgeCertificate"/> and verifying the
    /// gateway's certificate against the test root with SNI localhost.
    /// </summary>
    public static async Task<EdgeProcess> HaproxyAsync(int gatewayPort, X509Certificate2 edgeCertificate)
    {
        var program = Tool.Require("haproxy");
        var folder = Directory.CreateTempSubdirectory("mtlsgate-haproxy-").FullName;
        var pki = TestPki.Instance;
        using var frontend = TestPki.IssueServer(pki.Root);
        File.WriteAllText(Path.Combine(folder, "frontend.pem"), Pki.CertificatePem(frontend) + Pki.KeyPem(frontend));
        File.WriteAllText(Path.Combine(folder, "edge-client.pem"), Pki.CertificatePem(edgeCertificate) + Pki.KeyPem(edgeCertificate));
        File.WriteAllText(Path.Combine(folder, "gateway-ca.pem"), Pki.CertificatePem(pki.Root));
        File.WriteAllText(Path.Combine(folder, "client-ca.pem"), Pki.CertificatePem(pki.Root) + Pki.CertificatePem(pki.OtherRoot));
        var port = FreePort();
        var config = Path.Combine(folder, "haproxy.cfg");
        File.WriteAllText(config, $$"""
            global
                maxconn 64
            defaults
                mode http
                timeout connect 5s
                timeout client 30s
                timeout server 30s
            frontend edge
                bind 127.0.0.1:{{port}} ssl crt {{folder}}/frontend.pem ca-file {{folder}}/client-ca.pem verify optional ca-ignore-err all crt-ignore-err all
                http-request del-header Client-Cert
                http-request del-header Client-Cert-Chain
                http-request set-header Client-Cert :%[ssl_c_der,base64]: if { ssl_c_used }
                default_backend gateway
            backend gateway
                server gw 127.0.0.1:{{gatewayPort}} ssl crt {{folder}}/edge-client.pem ca-file {{folder}}/gateway-ca.pem verify required sni str(localhost)

            """);
        return await StartAsync(program, ["-db", "-f", config], folder, port);
    }

    /// <summary>A plain-HTTP forwarder in Python (standard library only) on a free loopback port, to <paramref name="target"/>.</summary>
    public static async Task<EdgeProcess> PythonForwarderAsync(Uri target)
    {
        var program = Tool.Require("python3");
        var folder = Directory.CreateTempSubdirectory("mtlsgate-tunnel-").FullName;
        var script = Path.Combine(folder, "forwarder.py");
        File.WriteAllText(script, ForwarderScript);
        var port = FreePort();
        return await StartAsync(program, [script, port.ToString(System.Globalization.CultureInfo.InvariantCulture), target.Host, target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)], folder, port);
    }

    /// <summary>
    /// A tunnel connector's job in 30 lines: accept HTTP/1.1 on loopback, pass method, path, headers and
    /// body to the gateway's edge listener over a kept-alive connection, and relay the answer.
    /// </summary>
    private const string ForwarderScript = """
        import http.client, http.server, sys

        port, host, target = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        upstream = [None]

        class Forward(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                if upstream[0] is None:
                    upstream[0] = http.client.HTTPConnection(host, target, timeout=30)
                upstream[0].request(self.command, self.path, body=body, headers=headers)
                answer = upstream[0].getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

            def log_message(self, *args):
                pass

        http.server.HTTPServer(("127.0.0.1", port), Forward).serve_forever()
        """;

    private static async Task<EdgeProcess> StartAsync(string program, string[] arguments, string folder, int port)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var edge = new EdgeProcess(process, folder, port);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            if (process.HasExited)
            {
                var message = $"{Path.GetFileName(program)} exited with {process.ExitCode}: ";
                await process.WaitForExitAsync();
                lock (stderr)
                {
                    message += stderr.ToString();
                }

                await edge.DisposeAsync();
                throw new InvalidOperationException(message);
            }

            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(IPAddress.Loopback, port);
                return edge;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
