using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Enrollment</c>, compiled: the CA folder the gateway may sign with, or none.</summary>
/// <param name="CaFolder">The folder (resolved), with <c>ca.pem</c> and <c>ca.key</c>; null: no CA key (revoke marks the store only, enrolment off).</param>
public sealed record EnrollmentSettings(string? CaFolder)
{
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
        if (string.IsNullOrWhiteSpace(section.CaFolder))
        {
            return EnrollmentSettings.None;
        }

        var folder = new CaFolder(ConfigCompiler.ResolvePath(baseDirectory, section.CaFolder));
        if (!folder.Exists)
        {
            errors.Add(Key, $"'{folder.Directory}' holds no CA (expected {CaFolder.CaFile} and {CaFolder.CaKeyFile}, as 'mtlsgate init DIR' makes them).");
            return EnrollmentSettings.None;
        }

        return new EnrollmentSettings(folder.Directory);
    }
}
