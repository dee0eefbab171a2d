using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.Configuration;
using MtlsGate.Configuration;
using MtlsGate.Policy;
using MtlsGate.Text;
using MtlsGate.Tls;
using System.Security.Cryptography.X509Certificates;

namespace MtlsGate.Cli;

/// <summary>
/// <c>mtlsgate verify CERT [--chain FILE] [--path P] [--at TIME] [--config FILE]</c>: runs the very
/// validation and policy code of the gateway over a certificate file and explains the decision.
/// Needs only trust material and policies (no listener, no server certificate).
/// Exit 0 when the request would be allowed, 1 when denied, 2 on a usage or configuration error.
/// </summary>
public static class VerifyCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var certificatePath = args.FirstOrDefault(a => !a.StartsWith('-') && !InitCommand.IsOptionValue(args, a));
        if (certificatePath is null)
        {
            Console.Error.WriteLine("usage: mtlsgate verify CERT [--chain FILE] [--host H] [--path P] [--ip ADDRESS] [--method M] [--at TIME] [--forwarded EDGE] [--config FILE]");
            return CommandLine.UsageOrConfigurationError;
        }

        var at = DateTimeOffset.UtcNow;
        if (CommandLine.OptionValue(args, "--at") is { } atText &&
            !DateTimeOffset.TryParse(atText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at))
        {
            Console.Error.WriteLine($"verify: --at '{atText}' is not an ISO 8601 time (e.g. 2026-01-01T00:00:00Z).");
            return CommandLine.UsageOrConfigurationError;
        }

        var configuration = CommandLine.LoadConfiguration(args, out var baseDirectory, out var error);
        if (error is not null)
        {
            Console.Error.WriteLine(error);
            return CommandLine.UsageOrConfigurationError;
        }

        var (snapshot, errors) = ConfigCompiler.Compile(configuration, baseDirectory, CompileScope.TrustAndPolicies);
        if (snapshot is null)
        {
            Console.Error.WriteLine($"verify: {errors.Count} configuration error(s):");
            foreach (var e in errors)
            {
                Console.Error.WriteLine($"  - {e}");
            }

            return CommandLine.UsageOrConfigurationError;
        }

        X509Certificate2 leaf;
        var chain = new X509Certificate2Collection();
        try
        {
            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPemFile(Path.GetFullPath(certificatePath));
            if (certificates.Count == 0)
            {
                certificates.Add(X509CertificateLoader.LoadCertificateFromFile(Path.GetFullPath(certificatePath)));
            }

            leaf = certificates[0];
            chain.AddRange(certificates.Skip(1).ToArray());
            if (CommandLine.OptionValue(args, "--chain") is { } chainPath)
            {
                chain.ImportFromPemFile(Path.GetFullPath(chainPath));
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"verify: cannot read certificate '{certificatePath}': {ex.Message}");
            return CommandLine.UsageOrConfigurationError;
        }

        var hostName = CommandLine.OptionValue(args, "--host");
        var (routeId, policyName) = RouteFor(configuration, CommandLine.OptionValue(args, "--path"));
        var (policy, store) = PolicyResolution.For(snapshot, hostName, policyName);
        Edge? edge = null;
        if (CommandLine.OptionValue(args, "--forwarded") is { } edgeName && (edge = snapshot.Edges.Named(edgeName)) is null)
        {
            var known = snapshot.Edges.IsEmpty ? "none configured" : string.Join(", ", snapshot.Edges.All.Select(e => e.Name));
            Console.Error.WriteLine($"verify: --forwarded '{edgeName}' is not an edge of MtlsGate:Edges ({known}).");
            return CommandLine.UsageOrConfigurationError;
        }

        var sourceLine = ClientIdentity.Direct + " (the client's own TLS connection)";
        if (edge is not null)
        {
            // As if it came through the edge: written in its format, read back by the request path's reader.
            var (certificateHeader, chainHeader) = ForwardedCertificateReader.Write(edge.Format, leaf, [.. chain]);
            var forwarded = ForwardedCertificateReader.Read(edge.Format, certificateHeader, chainHeader);
            if (forwarded.Leaf is { } read)
            {
                (leaf, chain) = (read, forwarded.Chain ?? []);
            }

            sourceLine = $"edge {edge.Name}: {EdgeCheck.Sources(edge)}; read from {EdgeCheck.Headers(edge.Format)}" + (forwarded.Problem is { } problem ? $" ({problem})" : "");
        }

        var verdict = store is not null ? ChainValidator.Validate(store, leaf, chain, at) : DenyReason.Untrusted;
        System.Net.IPAddress? address = null;
        if (CommandLine.OptionValue(args, "--ip") is { } ipText && !System.Net.IPAddress.TryParse(ipText, out address))
        {
            Console.Error.WriteLine($"verify: --ip '{ipText}' is not an IP address.");
            return CommandLine.UsageOrConfigurationError;
        }

        var country = address is not null ? snapshot.GeoIp?.CountryOf(address) : null;
        var facts = new RequestFacts(CommandLine.OptionValue(args, "--method") ?? "GET", address, country);
        var decision = PolicyEvaluator.Evaluate(new ClientIdentity(leaf, verdict), facts, policy);
        var networkNote = address is null && (policy.AllowNetworks.Count + policy.DenyNetworks.Count + policy.BypassNetworks.Count != 0 || policy.HasCountryRules)
            ? " (the policy has network/country rules: give --ip to evaluate them as for a client address)"
            : "";
        var hostLine = snapshot.HostFor(hostName)?.Name ?? (hostName is null ? "(no SNI: top-level settings)" : hostName + " (not configured: top-level settings)");
        var clientLine = address is null ? "(no --ip)" : address + (country is null ? "" : " (" + country + ")");
        var policyExtras = (policy.Identities is null ? "" : ", identity allow-list") + (policy.MethodRestrictions.Count == 0 ? "" : ", method restrictions");

        // Subject and issuer are chosen by whoever made the certificate: encoded like the logs
        // (HeaderEncoding), so no escape sequence, CR or LF reaches the operator's terminal.
        Console.Out.WriteLine($"""
            certificate  {HeaderEncoding.Encode(leaf.Subject)}
              issuer     {HeaderEncoding.Encode(leaf.Issuer)}
              serial     {CaFolder.SerialOf(leaf)}
              sha256     {Fingerprint.Sha256(leaf)}
              valid      {leaf.NotBefore.ToUniversalTime():u} .. {leaf.NotAfter.ToUniversalTime():u}
            at           {at:u}
            source       {sourceLine}
            host         {hostLine}
            route        {routeId ?? "(none: default policy)"}
            policy       {policy.Name} (require {policy.Require}, mode {policy.Mode}, trust store {store?.Name ?? policy.TrustStore}{policyExtras})
            client       {clientLine}, method {facts.Method}{networkNote}
            checks       networks, countries, certificate chain, identity allow-list, method restriction: the first failing one decides
            chain        {(verdict == DenyReason.None ? "valid" : verdict + ": " + Explain(verdict))}
            decision     {decision.Outcome}{(decision.Reason == DenyReason.None ? "" : $" ({decision.Reason}): {Explain(decision.Reason)}")}{LoginCheck.Note(policy)}
            """);
        return decision.Outcome == Outcome.Allow ? CommandLine.Ok : CommandLine.Denied;
    }

    public static string Explain(DenyReason reason) => reason switch
    {
        DenyReason.NoCertificate => "no certificate was presented",
        DenyReason.Untrusted => "the certificate does not chain to a root of the trust store (or a signature is wrong, or an intermediate is missing: send it with --chain / from the client)",
        DenyReason.Expired => "the certificate, or a CA above it, is past its notAfter: issue a new one",
        DenyReason.NotYetValid => "the certificate, or a CA above it, is not valid yet (check the clocks)",
        DenyReason.WrongUsage => "the certificate has an extended key usage without clientAuth",
        DenyReason.InvalidChain => "a CA in the chain may not issue (basic constraints, path length, key usage) or a key is too weak",
        DenyReason.Revoked => "the certificate is in its issuer's CRL or on the deny-list",
        DenyReason.RevocationUnknown => "the issuer's CRL is past nextUpdate (beyond the grace): re-sign or refresh the CRL",
        DenyReason.IdentityNotAllowed => "the certificate is valid but not on the policy's Identities allow-list",
        DenyReason.MethodNotAllowed => "this identity may not use that HTTP method (MethodRestrictions)",
        DenyReason.NetworkNotAllowed => "the client address is outside AllowNetworks or inside DenyNetworks",
        DenyReason.CountryNotAllowed => "the client's country is not allowed",
        DenyReason.CountryUnknown => "country rules apply and the client's country is unknown",
        DenyReason.ForwardedCertificateInvalid => "the edge forwarded a value that is not a certificate in its format (not base64, not DER, too large, too long a chain)",
        DenyReason.HostMismatch => "the request's Host does not belong to the host its TLS connection was made for",
        _ => reason.ToString(),
    };

    /// <summary>
    /// The route YARP would pick for a path, approximately: templates that match, lowest <c>Order</c>
    /// first, then the most literal segments. Hosts, methods and headers are not considered.
    /// </summary>
    public static (string? RouteId, string? Policy) RouteFor(IConfiguration configuration, string? path)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (path is null)
        {
            return (null, null);
        }

        var candidates = new List<(string Id, string? Policy, int Order, int Literals)>();
        foreach (var route in configuration.GetSection("ReverseProxy:Routes").GetChildren())
        {
            var template = route["Match:Path"];
            if (template is null)
            {
                continue;
            }

            var parsed = TemplateParser.Parse(template);
            var matcher = new TemplateMatcher(parsed, []);
            if (matcher.TryMatch(path, new RouteValueDictionary()))
            {
                var order = int.TryParse(route["Order"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var o) ? o : 0;
                candidates.Add((route.Key, route[$"Metadata:{ConfigCompiler.PolicyMetadataKey}"], order, parsed.Segments.Count(s => s.IsSimple && s.Parts[0].IsLiteral)));
            }
        }

        var best = candidates.OrderBy(c => c.Order).ThenByDescending(c => c.Literals).FirstOrDefault();
        return best.Id is null ? ("(no route: answered like a denial)", null) : (best.Id, best.Policy);
    }
}
