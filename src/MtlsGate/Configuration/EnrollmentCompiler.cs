using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Enrollment</c>, compiled: the CA folder the gateway may sign with, or none.</summary>
/// <param name="CaFolder">The folder (resolved), with <c>ca.pem</c> and <c>ca.key</c>; null: no CA key (revoke marks the store only, enrolment off).</param>
public sealed record EnrollmentSettings(string? CaFolder)
{
    /// <summary><c>MtlsGate:Enrollment:PublicUrl</c>: the base of enrolment links; null = derived at run time (<c>Devices.Enrollments.BaseUrl</c>).</summary>
    public Uri? PublicUrl { get; init; }

    public static readonly EnrollmentSettings None = new((string?)null);

    /// <summary>The CA folder, or null when none is configured.</summary>
    public Tls.CaFolder? Folder => CaFolder is null ? null : new Tls.CaFolder(CaFolder);
}

/// <summary>Compiles <c>MtlsGate:Enrollment</c>: a configured CA folder must hold <c>ca.pem</c> and <c>ca.key</c>.</summary>
public static class EnrollmentCompiler
{
    public const string Key = "MtlsGate:Enrollment:CaFolder";

    public static EnrollmentSettings Compile(EnrollmentSection section, string baseDirectory, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        var publicUrl = PublicUrl(section.PublicUrl, errors);
        if (string.IsNullOrWhiteSpace(section.CaFolder))
        {
            return EnrollmentSettings.None with { PublicUrl = publicUrl };
        }

        var folder = new CaFolder(ConfigCompiler.ResolvePath(baseDirectory, section.CaFolder));
        if (!folder.Exists)
        {
            errors.Add(Key, $"'{folder.Directory}' holds no CA (expected {CaFolder.CaFile} and {CaFolder.CaKeyFile}, as 'mtlsgate init DIR' makes them).");
            return EnrollmentSettings.None;
        }

        return new EnrollmentSettings(folder.Directory) { PublicUrl = publicUrl };
    }

    private static Uri? PublicUrl(string? text, ConfigErrors errors)
    {
        if (text is null)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps
            || url.AbsolutePath != "/" || url.Query.Length != 0 || url.Fragment.Length != 0 || url.UserInfo.Length != 0)
        {
            errors.Add("MtlsGate:Enrollment:PublicUrl", $"'{text}' is not an https:// address without path, query or user (e.g. https://vault.example.com or https://vault.example.com:8443).");
            return null;
        }

        return url;
    }
}
