using MtlsGate.Configuration;
using MtlsGate.Denials;
using MtlsGate.Text;

namespace MtlsGate.Cli;

/// <summary><c>mtlsgate check [--config FILE]</c>: compiles the configuration like start-up does and prints every route's effective policy.</summary>
public static class CheckCommand
{
    public static int Run(string[] args)
    {
        var configuration = CommandLine.LoadConfiguration(args, out var baseDirectory, out var error);
        if (error is not null)
        {
            Console.Error.WriteLine(error);
            return CommandLine.UsageOrConfigurationError;
        }

        var (snapshot, errors) = ConfigCompiler.Compile(configuration, baseDirectory);
        if (snapshot is null)
        {
            Console.Error.WriteLine($"check: {errors.Count} configuration error(s):");
            foreach (var e in errors)
            {
                Console.Error.WriteLine($"  - {e}");
            }

            return CommandLine.UsageOrConfigurationError;
        }

        var denials = DenialTable.For(snapshot);
        Console.Out.WriteLine($"Configuration OK. Relative paths resolve against {baseDirectory}.");
        Console.Out.WriteLine($"Gateway: {string.Join(", ", snapshot.GatewayEndpoints.Select(e => e.Url))}; management: {snapshot.Management.Url}");
        foreach (var store in snapshot.TrustStores.Values)
        {
            Console.Out.WriteLine($"Trust store {store.Name}: {store.Roots.Count} root(s), {store.Intermediates.Count} intermediate(s), {store.Revocation.Crls.Count} CRL(s), {store.Revocation.DenyFingerprints.Count + store.Revocation.DenySerials.Count} deny-list entr(ies)");
        }

        foreach (var host in snapshot.Hosts.Values)
        {
            var certificate = host.ServerCertificate is null ? "(top-level)" : HeaderEncoding.Encode(host.ServerCertificate.Leaf.Subject);
            var trust = host.TrustStore is null ? "(each policy's own)" : $"{host.TrustStore.Name} (for every request on its connections, whatever the route)";
            Console.Out.WriteLine($"Host {host.Name}: server certificate {certificate}, trust store {trust}, policy for routes without their own {host.Policy?.Name ?? snapshot.DefaultPolicy.Name}; a request for another host on its connections gets 421");
        }

        BackendCheck.Print(snapshot, Console.Out, DateTimeOffset.UtcNow);
        LoginCheck.Print(snapshot, Console.Out);
        EdgeCheck.Print(snapshot, Console.Out, DateTimeOffset.UtcNow);
        Console.Out.WriteLine();
        Console.Out.WriteLine("Effective policy and trust store per route (connections without a configured host; then each host where it differs):");
        Console.Out.WriteLine($"{"ROUTE",-20} {"PATH",-30} {"POLICY",-12} {"REQUIRE",-18} {"MODE",-8} {"TRUST",-10} DENY");
        foreach (var route in configuration.GetSection("ReverseProxy:Routes").GetChildren())
        {
            var named = route[$"Metadata:{ConfigCompiler.PolicyMetadataKey}"];
            var (policy, store) = PolicyResolution.For(snapshot, null, named);
            Console.Out.WriteLine($"{route.Key,-20} {route["Match:Path"] ?? "(any)",-30} {policy.Name + (named is null ? "*" : ""),-12} {policy.Require,-18} {policy.Mode,-8} {store?.Name ?? "-",-10} {Describe(denials.For(policy).Deny)}");
            var matchHosts = RouteCompiler.MatchHosts(route.GetSection("Match:Hosts"));
            foreach (var host in snapshot.Hosts.Values.Where(h => RouteCompiler.CanServe(matchHosts, h.Name)))
            {
                var (hostPolicy, hostStore) = PolicyResolution.For(snapshot, host.Name, named);
                if (!ReferenceEquals(hostPolicy, policy) || !ReferenceEquals(hostStore, store))
                {
                    Console.Out.WriteLine($"{"  on " + host.Name,-20} {"",-30} {hostPolicy.Name,-12} {hostPolicy.Require,-18} {hostPolicy.Mode,-8} {hostStore?.Name ?? "-",-10} {Describe(denials.For(hostPolicy).Deny)}");
                }
            }
        }

        var fallback = PolicyResolution.For(snapshot, null, null);
        Console.Out.WriteLine($"{"(unmatched)",-20} {"",-30} {snapshot.DefaultPolicy.Name,-12} {"",-12} {"",-8} {fallback.TrustStore?.Name ?? "-",-10} {Describe(denials.For(snapshot.DefaultPolicy).Deny)}");
        Console.Out.WriteLine("* no MtlsGate.Policy metadata: the host's Policy, else the Default policy (fail closed).");
        Console.Out.WriteLine("A configured host's TrustStore holds for every request on its connections; a route whose policy names another is refused at start-up.");
        return CommandLine.Ok;
    }

    private static string Describe(DenialResponse deny) =>
        deny.Action == DenialAction.Close ? "close (zero bytes)" : $"{deny.Status} {deny.ContentType} ({deny.Body.Length} bytes)";
}
