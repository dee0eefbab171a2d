using MtlsGate.Tls;

namespace MtlsGate.Configuration;

/// <summary>
/// <c>MtlsGate:StateDirectory</c> and what lives in it: where it is (with its default), that it is
/// private, and that no CRL in the new configuration rolls revocation back below the persisted marks.
/// Nothing is created until the whole configuration compiled (<see cref="Commit"/>), so a refused
/// configuration, <c>verify</c> or a test with missing files leaves no directory behind.
/// </summary>
internal static class StateDirectoryCompiler
{
    public const string Key = "MtlsGate:StateDirectory";
    public const string CrlCacheKey = "MtlsGate:Reload:CrlCacheDirectory";
    public const string ServiceDirectory = "/var/lib/mtlsgate";

    /// <summary>The state directory (resolved), after checking an existing one.</summary>
    public static string Compile(MtlsGateOptions options, string baseDirectory, List<string> errors)
    {
        var path = string.IsNullOrWhiteSpace(options.StateDirectory)
            ? DefaultPath()
            : ConfigCompiler.ResolvePath(baseDirectory, options.StateDirectory);
        if (PrivateDirectory.Problem(path) is { } problem)
        {
            errors.Add($"{Key}: {problem}");
        }

        return path;
    }

    /// <summary>
    /// The CRL cache: <c>crl-cache</c> in the state directory, or <c>Reload:CrlCacheDirectory</c> when
    /// given, which must then be just as private.
    /// </summary>
    public static string CrlCache(ReloadSection section, string baseDirectory, string stateDirectory, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(section.CrlCacheDirectory))
        {
            return Path.Combine(stateDirectory, "crl-cache");
        }

        var path = ConfigCompiler.ResolvePath(baseDirectory, section.CrlCacheDirectory);
        if (PrivateDirectory.Problem(path) is { } problem)
        {
            errors.Add($"{CrlCacheKey}: {problem}");
        }

        return path;
    }

    /// <summary>
    /// The default: <c>/var/lib/mtlsgate</c> for a service (root, or the container), else the XDG state
    /// home of the user (https://specifications.freedesktop.org/basedir-spec/latest/: <c>$XDG_STATE_HOME</c>,
    /// default <c>~/.local/state</c>). Never the shared temporary folder.
    /// </summary>
    public static string DefaultPath()
    {
        if (PrivateDirectory.EffectiveUserId == 0 ||
            string.Equals(Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return ServiceDirectory;
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "mtlsgate");
        }

        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "mtlsgate");
    }

    /// <summary>Refuses every CRL of the new configuration that would roll revocation back (error names its key and file).</summary>
    public static void CheckCrls(IEnumerable<TrustStore> stores, string stateDirectory, List<string> errors)
    {
        if (errors.Any(e => e.StartsWith(Key, StringComparison.Ordinal)))
        {
            return; // an unsafe directory is not read
        }

        var marks = CrlHighWaterMarks.For(stateDirectory);
        IReadOnlyDictionary<string, CrlMark> persisted;
        try
        {
            persisted = marks.Load();
        }
        catch (IOException ex)
        {
            errors.Add($"{Key}: CRL high-water marks: {ex.Message}");
            return;
        }

        foreach (var crl in stores.SelectMany(s => s.Revocation.Crls))
        {
            if (marks.Check(crl, persisted, crl.Source, DateTimeOffset.UtcNow) is { } problem)
            {
                errors.Add($"{crl.Key}: CRL '{crl.Source}' is refused: {problem}. If going back is really intended, delete '{marks.FilePath}' (see README, Revocation).");
            }
        }
    }

    /// <summary>
    /// Once the whole configuration compiled (server scope): creates the state directory and CRL cache
    /// 0700 (or refuses them), then raises the CRL marks to the CRLs now in force. False on an error.
    /// </summary>
    public static bool Commit(string stateDirectory, string crlCache, IEnumerable<TrustStore> stores, List<string> errors)
    {
        if (PrivateDirectory.Ensure(stateDirectory) is { } problem)
        {
            errors.Add($"{Key}: {problem}");
            return false;
        }

        if (PrivateDirectory.Ensure(crlCache) is { } cacheProblem)
        {
            errors.Add($"{CrlCacheKey}: {cacheProblem}");
            return false;
        }

        try
        {
            CrlHighWaterMarks.For(stateDirectory).Raise(stores.SelectMany(s => s.Revocation.Crls));
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            errors.Add($"{Key}: cannot record the CRL high-water marks: {ex.Message}");
            return false;
        }
    }
}
