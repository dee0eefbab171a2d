using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Tests.TestSupport;
using MtlsGate.Tls;
using Xunit.Abstractions;

namespace MtlsGate.Tests.Configuration;

/// <summary>
/// Configuration fuzzing (SECURITY.md case 21): every leaf under <c>MtlsGate:</c> of the shipped
/// appsettings.json, the README's Vaultwarden configuration and a two-host configuration with an
/// allow-list is mutated (deleted, emptied, a number, its key misspelt, a wrong shape, its key in
/// another case). Each mutant is either refused naming a key, or decides a fixed set of probes no
/// more permissively than the original. Probes run the production pure path in-process: compile →
/// <see cref="PolicyResolution.For"/> → <see cref="ChainValidator"/> → <see cref="PolicyEvaluator.Evaluate(ClientIdentity, RequestFacts, CompiledPolicy)"/>.
/// </summary>
/// <remarks>
/// Not mutated: operator-chosen names (a trust store, policy or host called something else is a
/// different configuration, not a mistake the compile can see), and leaves whose deletion is a
/// legitimate widening (deny-lists): the base configurations hold none. Deleting a host's <c>Policy</c>
/// falls back to <c>Default</c> by design, so the two-host base gives both the same LAN exemption.
/// </remarks>
public sealed partial class ConfigurationFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TestPki Pki = TestPki.Instance;
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static readonly IPAddress Internet = IPAddress.Parse("198.51.100.7");
    private static readonly IPAddress Lan = IPAddress.Parse("192.168.1.5");

    /// <summary>No certificate, an allow-listed one, a valid one not on the allow-list, one from another CA.</summary>
    private static readonly (string Name, X509Certificate2? Certificate)[] Certificates =
    [
        ("none", null), ("good-device", Pki.Good), ("no-eku (not allow-listed)", Pki.NoEku), ("other-root", Pki.OtherRootLeaf),
    ];

    [GeneratedRegex(@"^[A-Za-z][^\s]*[A-Za-z0-9.\-_\]]: ")]
    private static partial Regex NamesAKey();

    public static TheoryData<string> Bases() => ["appsettings.json", "README Vaultwarden", "two hosts with an allow-list"];

    [Theory]
    [MemberData(nameof(Bases))]
    public void EveryMutantOfEveryLeaf_IsRefusedNamingAKey_OrDecidesNoMorePermissively(string name)
    {
        var original = Base(name);
        var (snapshot, errors) = _files.Compile(original);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var probes = Probes(original, snapshot!);
        var expected = probes.Select(p => Decide(snapshot!, p)).ToList();
        Assert.Contains(expected, d => d.Forwards);
        Assert.Contains(expected, d => !d.Forwards);

        int mutants = 0, refused = 0, same = 0, stricter = 0;
        var failures = new List<string>();
        foreach (var (description, mutant) in Mutants(original))
        {
            mutants++;
            var (compiled, mutantErrors) = _files.Compile(mutant);
            if (compiled is null)
            {
                refused++;
                Assert.NotEmpty(mutantErrors);
                foreach (var error in mutantErrors.Where(e => !NamesAKey().IsMatch(e)))
                {
                    failures.Add($"{description}: an error names no key: {error}");
                }

                continue;
            }

            var widened = false;
            var narrowed = false;
            for (var i = 0; i < probes.Count; i++)
            {
                var decision = Decide(compiled, probes[i]);
                if (decision.Forwards && !expected[i].Forwards)
                {
                    widened = true;
                    failures.Add($"{description}: {probes[i]} was {expected[i].Outcome} ({expected[i].Reason}), is now {decision.Outcome}");
                }

                narrowed |= !decision.Forwards && expected[i].Forwards;
            }

            if (!widened)
            {
                _ = narrowed ? stricter++ : same++;
            }
        }

        output.WriteLine($"{name}: {mutants} mutants × {probes.Count} probes: {refused} refused naming a key, {mutants - refused} decided ({same} as the original, {stricter} more strictly).");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(mutants >= 40, $"only {mutants} mutants");
    }

    private sealed record Probe(string? Host, string Route, string? RoutePolicy, string CertificateName, X509Certificate2? Certificate, IPAddress Address)
    {
        public override string ToString() => $"[host {Host ?? "(none)"}, route {Route}, {CertificateName}, from {Address}]";
    }

    private static List<Probe> Probes(JsonObject config, GatewaySnapshot snapshot)
    {
        var probes = new List<Probe>();
        var routes = config["ReverseProxy"]!["Routes"]!.AsObject();
        foreach (var host in snapshot.Hosts.Keys.Cast<string?>().Prepend(null))
        {
            foreach (var (routeId, route) in routes)
            {
                var matchHosts = route!["Match"]?["Hosts"] is JsonArray hosts ? hosts.Select(h => h!.GetValue<string>()).ToList() : [];
                if (host is null ? matchHosts.Count != 0 : !RouteCompiler.CanServe(matchHosts, host))
                {
                    continue;
                }

                var policy = route["Metadata"]?[ConfigCompiler.PolicyMetadataKey]?.GetValue<string>();
                foreach (var (certificateName, certificate) in Certificates)
                {
                    foreach (var address in new[] { Internet, Lan })
                    {
                        probes.Add(new Probe(host, routeId, policy, certificateName, certificate, address));
                    }
                }
            }
        }

        return probes;
    }

    private static Decision Decide(GatewaySnapshot snapshot, Probe probe)
    {
        var (policy, store) = PolicyResolution.For(snapshot, probe.Host, probe.RoutePolicy);
        var identity = probe.Certificate is null ? ClientIdentity.None
            : new ClientIdentity(probe.Certificate, store is null ? DenyReason.Untrusted : ChainValidator.Validate(store, probe.Certificate, null, Pki.Now));
        return PolicyEvaluator.Evaluate(identity, new RequestFacts("GET", probe.Address, null), policy);
    }

    private JsonObject Base(string name)
    {
        switch (name)
        {
            case "appsettings.json":
                // The shipped file with its own relative paths: the PKI is generated into certs/.
                Directory.CreateDirectory(Path.Combine(_files.Folder, "certs"));
                File.Copy(Path.Combine(_files.Folder, "ca.pem"), Path.Combine(_files.Folder, "certs", "ca.pem"), overwrite: true);
                File.Copy(Path.Combine(_files.Folder, "server.pem"), Path.Combine(_files.Folder, "certs", "server.pem"), overwrite: true);
                File.Copy(Path.Combine(_files.Folder, "server.key"), Path.Combine(_files.Folder, "certs", "server.key"), overwrite: true);
                return JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "appsettings.json")))!.AsObject();

            case "README Vaultwarden":
                var example = ReadmeVaultwardenConfiguration();
                var gate = example["MtlsGate"]!.AsObject();
                gate["ServerCertificate"] = new JsonObject { ["Path"] = "server.pem", ["KeyPath"] = "server.key" };
                gate["TrustStores"]!["Default"]!["CaBundle"] = "ca.pem";
                return example;

            default:
                return ConfigFiles.TwoHostsWithAllowList();
        }
    }

    /// <summary>The jsonc block under "### The configuration for Vaultwarden" in README.md, comments removed.</summary>
    private static JsonObject ReadmeVaultwardenConfiguration()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var section = readme[readme.IndexOf("### The configuration for Vaultwarden", StringComparison.Ordinal)..];
        var start = section.IndexOf("```jsonc", StringComparison.Ordinal) + "```jsonc".Length;
        var block = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        return JsonNode.Parse(JsoncComment().Replace(block, ""))!.AsObject();
    }

    [GeneratedRegex(@"(?m)(?<=[\s,{\[])//[^\n]*$")]
    private static partial Regex JsoncComment();

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MtlsGate.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("MtlsGate.sln not found above the test binaries.");
    }

    /// <summary>Every mutant of every leaf under MtlsGate, each on a fresh copy.</summary>
    private static IEnumerable<(string Description, JsonObject Mutant)> Mutants(JsonObject original)
    {
        var leaves = new List<string>();
        Leaves(original["MtlsGate"]!, "MtlsGate", leaves);
        foreach (var path in leaves)
        {
            yield return ($"{path}: deleted", Mutate(original, path, (parent, key) => Remove(parent, key)));
            yield return ($"{path}: \"\"", Mutate(original, path, (parent, key) => Set(parent, key, "")));
            yield return ($"{path}: \"1\"", Mutate(original, path, (parent, key) => Set(parent, key, "1")));
            yield return ($"{path}: {{\"x\": 1}}", Mutate(original, path, (parent, key) => Set(parent, key, new JsonObject { ["x"] = 1 })));
            yield return ($"{path}: [\"x\"]", Mutate(original, path, (parent, key) => Set(parent, key, new JsonArray("x"))));
            if (PropertyKeyOf(path) is { } property)
            {
                yield return ($"{property}: key misspelt", Rename(original, property, Misspell));
                yield return ($"{property}: key upper-cased", Rename(original, property, k => k.ToUpperInvariant()));
                yield return ($"{property}: key lower-cased", Rename(original, property, k => k.ToLowerInvariant()));
            }
        }
    }

    private static void Leaves(JsonNode node, string path, List<string> leaves)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o)
                {
                    Leaves(child!, $"{path}:{key}", leaves);
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    Leaves(a[i]!, $"{path}:{i}", leaves);
                }

                break;
            default:
                leaves.Add(path);
                break;
        }
    }

    /// <summary>The nearest key on the path (the leaf's own, or an ancestor's) that is a property of the options, not an operator's name or an index.</summary>
    private static string? PropertyKeyOf(string path)
    {
        var parts = path.Split(':');
        string? found = null;
        ConfigSchema.Node node = ConfigSchema.Root;
        for (var i = 1; i < parts.Length; i++)
        {
            switch (node)
            {
                case ConfigSchema.SectionNode section when section.Properties.TryGetValue(parts[i], out var property):
                    found = string.Join(':', parts[..(i + 1)]);
                    node = property;
                    break;
                case ConfigSchema.MapNode map:
                    node = map.Value;
                    break;
                case ConfigSchema.ListNode list:
                    node = list.Element;
                    break;
                case ConfigSchema.OneOrMany many:
                    node = many.Element;
                    break;
                default:
                    return found;
            }
        }

        return found;
    }

    private static string Misspell(string key) => key.Length > 3 ? key.Remove(key.Length / 2, 1) : key + "x";

    private static JsonObject Mutate(JsonObject original, string path, Action<JsonNode, string> change)
    {
        var copy = original.DeepClone().AsObject();
        var parts = path.Split(':');
        JsonNode parent = copy;
        foreach (var part in parts[..^1])
        {
            parent = parent is JsonArray array ? array[int.Parse(part, System.Globalization.CultureInfo.InvariantCulture)]! : parent[part]!;
        }

        change(parent, parts[^1]);
        return copy;
    }

    private static void Remove(JsonNode parent, string key)
    {
        if (parent is JsonArray array)
        {
            array.RemoveAt(int.Parse(key, System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            parent.AsObject().Remove(key);
        }
    }

    private static void Set(JsonNode parent, string key, JsonNode value)
    {
        if (parent is JsonArray array)
        {
            array[int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)] = value;
        }
        else
        {
            parent[key] = value;
        }
    }

    private static JsonObject Rename(JsonObject original, string path, Func<string, string> rename) =>
        Mutate(original, path, (parent, key) =>
        {
            var o = parent.AsObject();
            var value = o[key];
            o.Remove(key);
            o[rename(key)] = value;
        });
}
