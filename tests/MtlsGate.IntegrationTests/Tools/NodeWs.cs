using MtlsGate.Tests.BlackBox;

namespace MtlsGate.Tests.Tools;

/// <summary>
/// Runs a WebSocket client written against the npm package <c>ws</c> (major 8, installed globally:
/// <c>npm install -g ws@8</c>) on the installed Node. The script prints one JSON line and exits
/// 0 on an echoed message, 2 on an HTTP response instead of the upgrade, 1 on any other error.
/// </summary>
public static class NodeWs
{
    public const string Script = """
        // argv: ws module path, url, message, [cert.pem key.pem], ca via NODE env CA_FILE
        import { readFileSync } from 'node:fs';
        import { pathToFileURL } from 'node:url';
        const [wsPath, url, message, certFile, keyFile] = process.argv.slice(2);
        const { default: WebSocket } = await import(pathToFileURL(wsPath).href);
        const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
        const options = { ca: readFileSync(process.env.CA_FILE), servername: 'localhost', family: 4, handshakeTimeout: 10000 };
        if (certFile) { options.cert = readFileSync(certFile); options.key = readFileSync(keyFile); }
        const socket = new WebSocket(url, options);
        const timer = setTimeout(() => { print({ error: 'timeout' }); process.exit(1); }, 15000);
        socket.on('open', () => socket.send(message));
        socket.on('message', (data) => { print({ echo: data.toString() }); clearTimeout(timer); socket.close(1000, 'done'); });
        socket.on('close', (code) => { clearTimeout(timer); process.exit(0); });
        socket.on('unexpected-response', (req, res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => { body += chunk; });
          res.on('end', () => { clearTimeout(timer); print({ unexpectedResponse: res.statusCode, body }); process.exit(2); });
        });
        socket.on('error', (e) => { clearTimeout(timer); print({ error: String(e && e.message || e) }); process.exit(1); });
        """;

    /// <summary>The ESM entry of the globally installed <c>ws</c>; when absent the test is skipped (or fails, <see cref="Tool.Required"/>) naming the install command.</summary>
    public static async Task<string> RequireModuleAsync(string node, string npm)
    {
        var root = await ProcessRunner.RunAsync(npm, ["root", "-g"], TimeSpan.FromSeconds(30));
        var entry = Path.Combine(root.StandardOutput.Trim(), "ws", "wrapper.mjs");
        return File.Exists(entry) ? entry : throw Tool.Missing($"the npm package ws@8 is not installed globally (no {entry}; node {node})", "npm install -g ws@8");
    }
}
