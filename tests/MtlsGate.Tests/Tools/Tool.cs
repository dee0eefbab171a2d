namespace MtlsGate.Tests.Tools;

/// <summary>Finds an outside program on PATH; a missing one fails the test, naming the package that provides it.</summary>
public static class Tool
{
    public static string Require(string program, string package)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);
        Assert.True(found is not null, $"'{program}' is not installed: install the package {package} (e.g. apt-get install {package}).");
        return found!;
    }

    /// <summary>A folder under the test output for artifacts that outlive the test (screenshots).</summary>
    public static string ArtifactFolder(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "TestResults", name);
        Directory.CreateDirectory(folder);
        return folder;
    }
}
