using System.Runtime.InteropServices;

namespace MtlsGate.Tls;

/// <summary>
/// Points OpenSSL at MtlsGate's own configuration (<c>openssl-mtlsgate.cnf</c> beside the binary):
/// its <c>system_default</c> CipherString is how the gateway keeps TLS 1.2 to ECDHE + AEAD without a
/// <see cref="System.Net.Security.CipherSuitesPolicy"/>, which on Linux switches server-side session
/// resumption off (docs/research/dotnet-tls-resumption.md, sections 1 and 3).
/// </summary>
/// <remarks>
/// OpenSSL reads <c>OPENSSL_CONF</c> once, when .NET first initialises it
/// (<c>OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG)</c>), and .NET decides then whether the configuration
/// has its own cipher list (pal_ssl.c <c>DetectCiphersuiteConfiguration</c>). So this must run before
/// anything touches cryptography: it is the first statement of Program.cs (the test projects set
/// OPENSSL_CONF for their test host instead, tests/OpenSslRunSettings.targets). <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// only changes .NET's copy of the environment on Unix, hence <c>setenv</c> from libc (.NET maps the
/// name "libc" to the platform's C library). An <c>OPENSSL_CONF</c> set by the operator is kept; the
/// listener still refuses any connection whose negotiated suite is not in
/// <see cref="TlsSessionResumption.AllowedCipherSuites"/>.
/// </remarks>
public static partial class OpenSslConfiguration
{
    public const string FileName = "openssl-mtlsgate.cnf";

    /// <summary>The OPENSSL_CONF in force after <see cref="Apply"/>: ours, the operator's, or null (OpenSSL's default file).</summary>
    public static string? InForce { get; private set; }

    /// <summary>Sets OPENSSL_CONF to the shipped file unless it is already set. Linux only; idempotent.</summary>
    public static string? Apply(string? directory = null)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        if (Environment.GetEnvironmentVariable("OPENSSL_CONF") is { Length: > 0 } existing)
        {
            return InForce = existing;
        }

        var path = Path.Combine(directory ?? AppContext.BaseDirectory, FileName);
        if (!File.Exists(path) || NativeMethods.SetEnv("OPENSSL_CONF", path, 0) != 0)
        {
            return InForce = null;
        }

        Environment.SetEnvironmentVariable("OPENSSL_CONF", path);
        return InForce = path;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "setenv", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
    }
}
