using System.Text.Json;
using System.Text.Json.Serialization;

namespace MtlsGate.Tests.Conformance;

/// <summary>One x509-limbo test case (C2SP x509-limbo, limbo-schema.json), the fields the harness reads.</summary>
public sealed record LimboCase
{
    public required string Id { get; init; }

    public string Description { get; init; } = "";

    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary><c>SERVER</c> or <c>CLIENT</c>.</summary>
    public required string ValidationKind { get; init; }

    public IReadOnlyList<string> TrustedCerts { get; init; } = [];

    public IReadOnlyList<string> UntrustedIntermediates { get; init; } = [];

    public required string PeerCertificate { get; init; }

    /// <summary>RFC 3339; null means "now".</summary>
    public DateTimeOffset? ValidationTime { get; init; }

    public IReadOnlyList<string> SignatureAlgorithms { get; init; } = [];

    public IReadOnlyList<string> KeyUsage { get; init; } = [];

    public IReadOnlyList<string> ExtendedKeyUsage { get; init; } = [];

    /// <summary><c>SUCCESS</c> or <c>FAILURE</c>.</summary>
    public required string ExpectedResult { get; init; }

    public LimboPeerName? ExpectedPeerName { get; init; }

    public IReadOnlyList<LimboPeerName> ExpectedPeerNames { get; init; } = [];

    public int? MaxChainDepth { get; init; }

    public IReadOnlyList<string> Crls { get; init; } = [];

    public bool ExpectsSuccess => ExpectedResult == "SUCCESS";

    public bool IsClient => ValidationKind == "CLIENT";
}

public sealed record LimboPeerName(string Kind, string Value);

public sealed record LimboDocument(int Version, IReadOnlyList<LimboCase> Testcases);

/// <summary>
/// Finds and reads limbo.json, vendored in the repository at <see cref="RelativePath"/> (source, licence,
/// checksum and the one modification in x509-limbo/SOURCE.md), so a fresh clone needs nothing beside it.
/// </summary>
public static class LimboData
{
    public const string RelativePath = "tests/MtlsGate.Tests/Conformance/x509-limbo/limbo.json";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <summary>The repository root: the nearest directory above the test binaries that holds MtlsGate.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MtlsGate.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} contains MtlsGate.sln.");
    }

    public static string DataPath() => Path.GetFullPath(Path.Combine(RepositoryRoot(), RelativePath));

    /// <summary>Loads the cases; a missing file is an error with the path and how to provide it (never a skip).</summary>
    public static LimboDocument Load()
    {
        var path = DataPath();
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"x509-limbo data not found at {path} (repository root + '{RelativePath}'). " +
                "It is part of the repository (see x509-limbo/SOURCE.md beside it): restore it with git. " +
                "This is a failure, not a skip: without the data the validator is not checked.",
                path);
        }

        using var stream = File.OpenRead(path);
        var document = JsonSerializer.Deserialize<LimboDocument>(stream, Options)
                       ?? throw new InvalidDataException($"{path} holds no x509-limbo document.");
        if (document.Testcases.Count == 0)
        {
            throw new InvalidDataException($"{path} holds no test cases.");
        }

        return document;
    }
}
