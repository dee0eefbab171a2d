using MtlsGate.Policy;

namespace MtlsGate.Configuration;

/// <summary>The small sections: reload, expiry, logging, forwarding, client address, GeoIP.</summary>
public static class SettingsCompiler
{
    /// <summary>The CRL cache directory is left empty here: <see cref="StateDirectoryCompiler.CrlCache"/> sets it.</summary>
    public static ReloadSettings Reload(ReloadSection section, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        errors.Positive(section.PollInterval, "MtlsGate:Reload:PollInterval");
        if (section.CrlRefreshInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add("MtlsGate:Reload:CrlRefreshInterval", "must be at least one second.");
        }

        return new ReloadSettings(
            section.PollInterval,
            section.CrlRefreshInterval,
            "");
    }

    public static ExpirySettings Expiry(ExpirySection section, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        var days = section.WarnDays.Count == 0 ? [.. ExpirySection.DefaultWarnDays] : section.WarnDays.Distinct().OrderByDescending(d => d).ToList();
        if (days.Any(d => d < 0))
        {
            errors.Add("MtlsGate:Expiry:WarnDays", "days must not be negative.");
        }

        return new ExpirySettings(days, section.SendDaysLeftHeader);
    }

    /// <summary>Only validated here: the logger is built before the compile, from the raw key (GatewayApp).</summary>
    public static void Logging(LoggingSection section, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        errors.OneOf(section.Format, "MtlsGate:Logging:Format", LoggingSection.Formats);
    }

    public static ForwardingSettings Forwarding(ForwardingSection section, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        errors.Enum(section.IdentityHeaders, "MtlsGate:Forwarding:IdentityHeaders", ForwardingSection.DefaultIdentityHeaders, out var format);
        return new ForwardingSettings(format, section.PreserveHost);
    }

    /// <summary>The canonical spelling of <c>MtlsGate:ClientIpHeader</c>.</summary>
    public static string ClientIpHeader(string value, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.OneOf(value, "MtlsGate:ClientIpHeader", MtlsGateOptions.ClientIpHeaders) ?? MtlsGateOptions.ClientIpHeaders[0];
    }

    public static CountryLookup? GeoIp(GeoIpSection section, string baseDirectory, bool needed, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrWhiteSpace(section.Database))
        {
            if (needed)
            {
                errors.Add("MtlsGate:GeoIp:Database", "required by AllowCountries/DenyCountries (a MaxMind-format .mmdb country database you supply; it is never downloaded).");
            }

            return null;
        }

        var path = ConfigCompiler.ResolvePath(baseDirectory, section.Database);
        if (!errors.FileExists(path, "MtlsGate:GeoIp:Database"))
        {
            return null;
        }

        try
        {
            return new CountryLookup(path);
        }
        catch (Exception ex) when (ex is IOException or MaxMind.Db.InvalidDatabaseException or UnauthorizedAccessException or ArgumentException)
        {
            errors.Add("MtlsGate:GeoIp:Database", $"cannot open '{path}' as a MaxMind database: {ex.Message}");
            return null;
        }
    }

    /// <summary>Whether any policy has country rules (then a GeoIP database is required).</summary>
    public static bool NeedsGeoIp(IEnumerable<CompiledPolicy> policies) => policies.Any(p => p.HasCountryRules);
}
