namespace MtlsGate.Configuration;

/// <summary><c>MtlsGate:Enrollment</c>: enrolling devices by one-time link (admin page "add device", <c>client enroll</c>).</summary>
public sealed class EnrollmentSection
{
    /// <summary>
    /// The folder <c>mtlsgate init</c> made (<c>ca.pem</c> + <c>ca.key</c>): enables "add device" and
    /// enrolment links. Relative to the configuration file's folder. Default none (enrolment off).
    /// </summary>
    public string? CaFolder { get; set; }

    /// <summary>
    /// The gateway's address as phones reach it, used in enrolment links and QR codes
    /// (e.g. <c>https://vault.example.com</c>). Default: <c>https://</c> + the server certificate's first
    /// DNS name (else <c>localhost</c>) + the gateway listener's port.
    /// </summary>
    public string? PublicUrl { get; set; }
}

/// <summary>Enrolment, compiled: the CA folder's full path and the public address of links (null = derived at run time).</summary>
public sealed record EnrollmentSettings(string CaFolder, Uri? PublicUrl);

/// <summary>Compiles <c>MtlsGate:Enrollment</c>.</summary>
public static class EnrollmentCompiler
{
    private const string Key = "MtlsGate:Enrollment";

    public static EnrollmentSettings? Compile(EnrollmentSection options, string baseDirectory, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        Uri? publicUrl = null;
        if (options.PublicUrl is { } text)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out publicUrl) || publicUrl.Scheme != Uri.UriSchemeHttps
                || publicUrl.AbsolutePath != "/" || publicUrl.Query.Length != 0 || publicUrl.Fragment.Length != 0 || publicUrl.UserInfo.Length != 0)
            {
                errors.Add($"{Key}:PublicUrl", $"'{text}' is not an https:// address without path, query or user (e.g. https://vault.example.com or https://vault.example.com:8443).");
                publicUrl = null;
            }
        }

        if (options.CaFolder is not { } folder)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(folder))
        {
            errors.Add($"{Key}:CaFolder", "is empty; give the folder 'mtlsgate init' made, or remove the key to turn enrolment off.");
            return null;
        }

        var path = ConfigCompiler.ResolvePath(baseDirectory, folder);
        foreach (var file in new[] { "ca.pem", "ca.key" })
        {
            if (!File.Exists(Path.Combine(path, file)))
            {
                errors.Add($"{Key}:CaFolder", $"'{path}' holds no {file} (the folder 'mtlsgate init' made, with the CA key, is needed to issue device certificates).");
                return null;
            }
        }

        return new EnrollmentSettings(path, publicUrl);
    }
}
