using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Tools;

/// <summary>
/// Mutual TLS to a backend that is not .NET: Debian's nginx with <c>ssl_verify_client on</c> and the
/// gateway's client CA, run as a child process on a free loopback port; it answers 200 with
/// <c>$ssl_client_s_dn</c> in a header.
/// </summary>
public sealed class NginxBackendTests : IDisposable
{
    private readonly BackendPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [SkippableFact]
    public async Task Nginx_requiring_a_client_certificate_from_a_private_CA_answers_200_through_the_gateway_and_sees_its_subject()
    {
        await using var nginx = await Nginx.StartAsync(_pki, "backend-server");
        await using var gateway = await TestGateway.StartAsync(config => _pki.Configure(config, nginx.Address));
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // nginx prints the DN in RFC 2253 order (most specific first), as .NET does.
        Assert.Equal("CN=gateway-client-1,O=MtlsGate", response.Headers.GetValues("X-Seen-Client-Subject").Single());
    }

    [SkippableFact]
    public async Task Nginx_with_a_certificate_for_another_name_gets_502()
    {
        await using var nginx = await Nginx.StartAsync(_pki, "elsewhere-server");
        await using var gateway = await TestGateway.StartAsync(config => _pki.Configure(config, nginx.Address));
        using var client = gateway.Client(TestPki.Instance.Good);

        using var response = await client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Seen-Client-Subject"));
    }

    private sealed class Nginx : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _prefix;

        private Nginx(Process process, string prefix, Uri address)
        {
            _process = process;
            _prefix = prefix;
            Address = address;
        }

        public Uri Address { get; }

        public static async Task<Nginx> StartAsync(BackendPki pki, string serverCertificate)
        {
            var program = Tool.Require("nginx");
            var prefix = Directory.CreateTempSubdirectory("mtlsgate-nginx-").FullName;
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            File.WriteAllText(Path.Combine(prefix, "nginx.conf"), $$"""
                daemon off;
                master_process off;
                worker_processes 1;
                pid {{prefix}}/nginx.pid;
                error_log {{prefix}}/error.log info;
                events { worker_connections 64; }
                http {
                    access_log off;
                    client_body_temp_path {{prefix}}/body;
                    proxy_temp_path {{prefix}}/proxy;
                    fastcgi_temp_path {{prefix}}/fastcgi;
                    uwsgi_temp_path {{prefix}}/uwsgi;
                    scgi_temp_path {{prefix}}/scgi;
                    server {
                        listen 127.0.0.1:{{port}} ssl;
                        ssl_certificate {{pki.PathOf(serverCertificate + ".pem")}};
                        ssl_certificate_key {{pki.PathOf(serverCertificate + ".key")}};
                        ssl_verify_client on;
                        ssl_client_certificate {{pki.PathOf("backend-client-ca.pem")}};
                        location / {
                            add_header X-Seen-Client-Subject $ssl_client_s_dn always;
                            return 200 "nginx mtls ok";
                        }
                    }
                }
                """);
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "-e", Path.Combine(prefix, "error.log"), "-p", prefix, "-c", Path.Combine(prefix, "nginx.conf") })
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            var nginx = new Nginx(process, prefix, new Uri($"https://127.0.0.1:{port}/"));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (true)
            {
                if (process.HasExited)
                {
                    var log = File.Exists(Path.Combine(prefix, "error.log")) ? File.ReadAllText(Path.Combine(prefix, "error.log")) : "";
                    throw new InvalidOperationException($"nginx exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()} {log}");
                }

                try
                {
                    using var socket = new TcpClient();
                    await socket.ConnectAsync(IPAddress.Loopback, port);
                    return nginx;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            try
            {
                Directory.Delete(_prefix, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
