using MtlsGate.Configuration;
using MtlsGate.Denials;
using MtlsGate.Hosting;

namespace MtlsGate.Cli;

/// <summary><c>mtlsgate check [--config FILE]</c>: compiles the configuration like start-up does and prints every route's effective policy.</summary>
public static class CheckCommand
{
    public static int Run(string[] args)
    {
        var configuration = GatewayApp.LoadConfiguration(args, out var baseDirectory, out var error);
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

        Console.Out.WriteLine($"Configuration OK. Relative paths resolve against {baseDirectory}.");
        Console.Out.WriteLine($"Gateway: {string.Join(", ", snapshot.GatewayEndpoints.Select(e => e.Url))}; management: {snapshot.Management.Url}");
        foreach (var store in snapshot.TrustStores.Values)
        {
            Console.Out.WriteLine($"Trust store {store.Name}: {store.Roots.Count} root(s), {store.Intermediates.Count} intermediate(s), {store.Revocation.Crls.Count} CRL(s), {store.Revocation.DenyFingerprints.Count + store.Revocation.DenySerials.Count} deny-list entr(ies)");
        }

        foreach (var host in snapshot.Hosts.Values)
        {
            var certificate = host.ServerCertificate is null ? "(top-level)" : host.ServerCertificate.Leaf.Subject;
            Console.Out.WriteLine($"Host {host.Name}: server certificate {certificate}, trust store {host.TrustStore?.Name ?? "(default policy's)"}, policy for routes without their own {host.Policy?.Name ?? snapshot.DefaultPolicy.Name}; a request for another host on its connections gets 421");
        }

        Console.Out.WriteLine();
        Console.Out.WriteLine($"{"ROUTE",-20} {"PATH",-30} {"POLICY",-12} {"REQUIRE",-12} {"MODE",-8} {"TRUST",-10} DENY");
        foreach (var route in configuration.GetSection("ReverseProxy:Routes").GetChildren())
        {
            var named = route[$"Metadata:{ConfigCompiler.PolicyMetadataKey}"];
            var policy = snapshot.PolicyFor(named);
            Console.Out.WriteLine($"{route.Key,-20} {route["Match:Path"] ?? "(any)",-30} {policy.Name + (named is null ? "*" : ""),-12} {policy.Require,-12} {policy.Mode,-8} {policy.TrustStore,-10} {Describe(policy.Deny)}");
        }

        Console.Out.WriteLine($"{"(unmatched)",-20} {"",-30} {snapshot.DefaultPolicy.Name,-12} {"",-12} {"",-8} {"",-10} {Describe(snapshot.DefaultPolicy.Deny)}");
        Console.Out.WriteLine("* no MtlsGate.Policy metadata: the Default policy applies (fail closed).");
        return CommandLine.Ok;
    }

    private static string Describe(DenialResponse deny) =>
        deny.Action == DenialAction.Close ? "close (zero bytes)" : $"{deny.Status} {deny.ContentType} ({deny.Body.Length} bytes)";
}
