using System.Text;
using System.Text.RegularExpressions;

namespace MtlsGate.Tests.Architecture;

/// <summary>
/// Folders are floors (STYLE.md "Where it went wrong"; ARCHITECTURE.md "Dependencies that must never
/// exist"): every folder of src/MtlsGate references only the floors below it, the siblings Denials,
/// Proxy and Management never reference each other, and Policy stays pure. Read from the source text
/// (comments and string literals removed): using directives, using static, aliases, fully qualified
/// names, and names qualified from inside MtlsGate (<c>Tls.TrustStore</c>).
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>The floors, bottom (0) to top. Folders on one floor are siblings and may not reference each other.</summary>
    private static readonly Dictionary<string, int> Floors = new(StringComparer.Ordinal)
    {
        ["Text"] = 0,
        ["Policy"] = 1,
        ["Logging"] = 2,
        ["Tls"] = 3,
        ["Configuration"] = 4,
        // Devices (inventory, store, block list, enrolment) and Login (sessions, OIDC, Bitwarden
        // vendor) are siblings: what the deciding middleware and the management page build on.
        ["Devices"] = 5,
        ["Login"] = 5,
        ["Denials"] = 6,
        ["Proxy"] = 6,
        ["Management"] = 6,
        ["Hosting"] = 7,
        ["Cli"] = 8,
    };

    private static readonly Lazy<List<SourceFile>> Sources = new(ReadSources);

    [Fact]
    public void Every_folder_of_src_has_a_floor_and_every_namespace_follows_its_folder()
    {
        var problems = Sources.Value
            .Where(f => !Floors.ContainsKey(f.Folder) || f.Namespace != "MtlsGate." + f.Folder)
            .Select(f => $"{f.Path}: folder {f.Folder} (floor known: {Floors.ContainsKey(f.Folder)}), namespace {f.Namespace}")
            .ToList();

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Every_folder_references_only_the_floors_below_it()
    {
        var problems = (
            from file in Sources.Value
            where Floors.ContainsKey(file.Folder)
            from target in file.References
            where target != file.Folder && Floors[target] >= Floors[file.Folder]
            select $"{file.Path}: {file.Folder} (floor {Floors[file.Folder]}) references {target} (floor {Floors[target]})").Distinct().ToList();

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Denials_Proxy_and_Management_never_reference_each_other()
    {
        string[] siblings = ["Denials", "Proxy", "Management"];
        var problems = (
            from file in Sources.Value
            where siblings.Contains(file.Folder)
            from target in file.References
            where target != file.Folder && siblings.Contains(target)
            select $"{file.Path}: {file.Folder} references {target}").Distinct().ToList();

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Policy_knows_no_ASP_NET_Core_Kestrel_YARP_or_file_system()
    {
        var problems = (
            from file in Sources.Value
            where file.Folder == "Policy"
            from match in ImpureReference().Matches(file.Code).Cast<Match>()
            select $"{file.Path}: {match.Value}").Distinct().ToList();

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void The_reference_finder_sees_every_form_of_reference()
    {
        var code = StripCommentsAndStrings("""
            using MtlsGate.Tls;
            using static MtlsGate.Denials.DenialResponder;
            using Alias = MtlsGate.Hosting.GatewayApp;
            // MtlsGate.Cli in a comment does not count
            var s = "MtlsGate.Management in a string does not count";
            var m = Proxy.HeaderSanitizer.IsDropped(x);
            var n = MtlsGate.Logging.Log.Access;
            var p = snapshot.Denials.Count;
            """);

        var found = ReferencesIn(code, new Dictionary<string, HashSet<string>> { ["Proxy"] = ["HeaderSanitizer"], ["Denials"] = ["DenialTable"] });

        Assert.Equal(["Denials", "Hosting", "Logging", "Proxy", "Tls"], found.Order(StringComparer.Ordinal));
    }

    private static List<SourceFile> ReadSources()
    {
        var root = Path.Combine(RepositoryRoot(), "src", "MtlsGate");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(root, path))
            .Where(relative => relative.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Select(relative => (Relative: relative, Folder: relative[..relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal)], Code: StripCommentsAndStrings(File.ReadAllText(Path.Combine(root, relative)))))
            .ToList();
        Assert.NotEmpty(files);

        // Types declared per folder: what a name qualified from inside MtlsGate (Tls.TrustStore) can mean.
        var types = files.GroupBy(f => f.Folder).ToDictionary(
            g => g.Key,
            g => g.SelectMany(f => TypeDeclaration().Matches(f.Code).Select(m => m.Groups["name"].Value)).ToHashSet(StringComparer.Ordinal));
        return files.Select(f => new SourceFile(
            f.Relative,
            f.Folder,
            FileNamespace().Match(f.Code) is { Success: true } ns ? ns.Groups["ns"].Value : "",
            f.Code,
            ReferencesIn(f.Code, types))).ToList();
    }

    private static HashSet<string> ReferencesIn(string code, Dictionary<string, HashSet<string>> typesByFolder)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in QualifiedReference().Matches(code))
        {
            found.Add(match.Groups["folder"].Value);
        }

        foreach (Match match in PartialReference().Matches(code))
        {
            var folder = match.Groups["folder"].Value;
            if (typesByFolder.TryGetValue(folder, out var types) && types.Contains(match.Groups["type"].Value))
            {
                found.Add(folder);
            }
        }

        return found;
    }

    /// <summary>The code without comments, string and character literals (their text is not a reference).</summary>
    private static string StripCommentsAndStrings(string source)
    {
        var code = new StringBuilder(source.Length);
        var i = 0;
        while (i < source.Length)
        {
            var c = source[i];
            var next = i + 1 < source.Length ? source[i + 1] : '\0';
            if (c == '/' && next == '/')
            {
                while (i < source.Length && source[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && next == '*')
            {
                var end = source.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? source.Length : end + 2;
            }
            else if (c == '"' && source.AsSpan(i).StartsWith("\"\"\""))
            {
                var quotes = 0;
                while (i < source.Length && source[i] == '"')
                {
                    quotes++;
                    i++;
                }

                var end = source.IndexOf(new string('"', quotes), i, StringComparison.Ordinal);
                i = end < 0 ? source.Length : end + quotes;
                code.Append("\"\"");
            }
            else if (c == '@' && next == '"' || c == '$' && next == '@' || c == '@' && next == '$')
            {
                i = source.IndexOf('"', i) + 1;
                while (i < source.Length && !(source[i] == '"' && (i + 1 >= source.Length || source[i + 1] != '"')))
                {
                    i += source[i] == '"' ? 2 : 1;
                }

                i++;
                code.Append("\"\"");
            }
            else if (c == '"' || c == '\'')
            {
                i++;
                while (i < source.Length && source[i] != c && source[i] != '\n')
                {
                    i += source[i] == '\\' ? 2 : 1;
                }

                i++;
                code.Append(c).Append(c);
            }
            else
            {
                code.Append(c);
                i++;
            }
        }

        return code.ToString();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MtlsGate.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No MtlsGate.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"\bMtlsGate\.(?<folder>[A-Z][A-Za-z]*)\b")]
    private static partial Regex QualifiedReference();

    /// <summary>A name qualified from inside the MtlsGate namespace: <c>Folder.Type</c>, not preceded by a dot.</summary>
    [GeneratedRegex(@"(?<![\w.])(?<folder>[A-Z][A-Za-z]*)\.(?<type>[A-Z]\w*)")]
    private static partial Regex PartialReference();

    [GeneratedRegex(@"\b(?:class|record|struct|enum|interface)\s+(?:struct\s+|class\s+)?(?<name>[A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"^namespace\s+(?<ns>[\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();

    [GeneratedRegex(@"\bMicrosoft\.AspNetCore\b|\bYarp\b|\bKestrel\b|\bHttpContext\b|\bSystem\.IO\b|\b(?:File|Directory|FileInfo|DirectoryInfo|FileStream|StreamReader|StreamWriter)\b")]
    private static partial Regex ImpureReference();

    private sealed record SourceFile(string Path, string Folder, string Namespace, string Code, HashSet<string> References);
}
