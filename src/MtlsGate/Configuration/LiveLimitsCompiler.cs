using System.Globalization;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Limits:MaxConnectionLifetime</c> and <c>MaxCrlBytes</c>: limits read at run time, so a reload applies them.</summary>
internal static class LiveLimitsCompiler
{
    public static LiveLimits Compile(LimitsSection section, List<string> errors)
    {
        if (section.MaxConnectionLifetime is { } lifetime && lifetime <= TimeSpan.Zero)
        {
            errors.Add($"MtlsGate:Limits:MaxConnectionLifetime: must be positive (got {lifetime.ToString("c", CultureInfo.InvariantCulture)}); leave it out for no limit.");
        }

        var maxCrlBytes = section.MaxCrlBytes;
        if (maxCrlBytes <= 0)
        {
            errors.Add($"MtlsGate:Limits:MaxCrlBytes: must be positive (got {maxCrlBytes.ToString(CultureInfo.InvariantCulture)}).");
        }

        return new LiveLimits(section.MaxConnectionLifetime, maxCrlBytes);
    }
}
