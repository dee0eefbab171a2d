using Microsoft.Extensions.Logging;

namespace MtlsGate.Logging;

// TLS session resumption and the cipher-suite check after the handshake (issue 15), event ids 1600-1619.
internal static partial class Log
{
    [LoggerMessage(1600, LogLevel.Error, "Connection {ConnectionId} refused: it negotiated cipher suite {CipherSuite}, which is not ECDHE + AEAD (is OPENSSL_CONF set to a configuration without MtlsGate's CipherString?)", EventName = "CipherSuiteRefused")]
    public static partial void CipherSuiteRefused(ILogger logger, string connectionId, string cipherSuite);
}
