namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Limits</c> and <c>MtlsGate:Tls</c>: Kestrel limits and TLS settings.</summary>
public static class LimitsCompiler
{
    public static LimitsSettings Compile(LimitsSection limits, TlsSection tls, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(tls);
        ArgumentNullException.ThrowIfNull(errors);
        errors.Positive(limits.MaxRequestBodySize, "MtlsGate:Limits:MaxRequestBodySize");
        errors.Positive(tls.HandshakeTimeout, "MtlsGate:Tls:HandshakeTimeout");
        errors.Positive(limits.RequestHeadersTimeout, "MtlsGate:Limits:RequestHeadersTimeout");
        errors.Positive(limits.KeepAliveTimeout, "MtlsGate:Limits:KeepAliveTimeout");
        errors.Positive(limits.MaxConcurrentConnections ?? 1, "MtlsGate:Limits:MaxConcurrentConnections");
        errors.Positive(limits.MaxStreamsPerConnection, "MtlsGate:Limits:MaxStreamsPerConnection");
        if (limits.DrainTimeout < TimeSpan.Zero)
        {
            errors.Add("MtlsGate:Limits:DrainTimeout", "must not be negative.");
        }

        return new LimitsSettings(
            limits.MaxRequestBodySize,
            tls.HandshakeTimeout,
            limits.RequestHeadersTimeout,
            limits.KeepAliveTimeout,
            limits.MaxConcurrentConnections,
            limits.MaxStreamsPerConnection,
            limits.DrainTimeout);
    }
}
