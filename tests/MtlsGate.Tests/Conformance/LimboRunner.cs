using System.Security.Cryptography;
using System.Text;
using System.Security.Cryptography.X509Certificates;
using MtlsGate.Policy;
using MtlsGate.Tls;

namespace MtlsGate.Tests.Conformance;

/// <summary>How a case came out.</summary>
public enum Outcome
{
    Agree,
    Disagree,
    Skipped,
}

/// <summary>The result of one case: the plan, the gateway's verdict, and (for diagnosis) the platform's chain status.</summary>
public sealed record LimboResult(LimboCase Case, LimboPlan Plan, Outcome Outcome, string Verdict, string PlatformStatus);

/// <summary>Runs x509-limbo cases through <see cref="ChainValidator.Validate"/>, the code the gateway runs at the handshake.</summary>
public static class LimboRunner
{
    public static LimboResult Run(LimboCase testCase, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var leaf = TryLoad(testCase.PeerCertificate, out var leafError);
        try
        {
            var plan = LimboMapping.Plan(testCase, leaf);
            if (plan.IsSkipped)
            {
                return new LimboResult(testCase, plan, Outcome.Skipped, "", "");
            }

            if (leaf is null)
            {
                // The platform cannot parse the client's certificate: the TLS handshake fails, which is a refusal.
                return Judge(testCase, plan, null, $"unparseable leaf ({leafError})", "");
            }

            var roots = new List<X509Certificate2>();
            var intermediates = new X509Certificate2Collection();
            try
            {
                foreach (var pem in testCase.TrustedCerts)
                {
                    var root = TryLoad(pem, out var error);
                    if (root is null)
                    {
                        // The gateway refuses to load a trust store it cannot parse: nothing is accepted.
                        return Judge(testCase, plan, null, $"unparseable trust anchor ({error})", "");
                    }

                    roots.Add(root);
                }

                foreach (var pem in testCase.UntrustedIntermediates)
                {
                    var intermediate = TryLoad(pem, out _);
                    if (intermediate is not null)
                    {
                        // A client's unparseable extra certificate is dropped, as the TLS stack drops it.
                        intermediates.Add(intermediate);
                    }
                }

                var at = testCase.ValidationTime ?? now;
                var crls = LoadCrls(testCase.Crls, roots.Concat(intermediates).ToList(), at, out var refusal);
                if (crls is null)
                {
                    // The gateway refuses a configuration (or reload) with a CRL it cannot verify: nothing is accepted.
                    return Judge(testCase, plan, null, $"configuration refused: {refusal}", "");
                }

                var revocation = crls.Count == 0 ? null : new Revocation(crls, [], [], TimeSpan.Zero);
                var store = new TrustStore("limbo", roots, [], revocation);
                DenyReason verdict;
                try
                {
                    verdict = ChainValidator.Validate(store, leaf, intermediates, at);
                }
                catch (CryptographicException e)
                {
                    // Not a verdict: the validator threw. Always a disagreement, whatever limbo expects.
                    return new LimboResult(testCase, plan, Outcome.Disagree, $"threw {nameof(CryptographicException)}: {e.Message}", PlatformStatus(store, leaf, intermediates, at));
                }

                return Judge(testCase, plan, verdict, verdict.ToString(), PlatformStatus(store, leaf, intermediates, at));
            }
            finally
            {
                foreach (var root in roots)
                {
                    root.Dispose();
                }

                foreach (var intermediate in intermediates)
                {
                    intermediate.Dispose();
                }
            }
        }
        finally
        {
            leaf?.Dispose();
        }
    }

    public static bool Agrees(Expectation expectation, DenyReason? verdict) => expectation switch
    {
        Expectation.Accept => verdict == DenyReason.None,
        Expectation.Reject => verdict != DenyReason.None,
        Expectation.RejectForChainReason => verdict is not DenyReason.None and not DenyReason.WrongUsage,
        Expectation.WrongUsageOnly => verdict == DenyReason.WrongUsage,
        _ => throw new ArgumentOutOfRangeException(nameof(expectation)),
    };

    private static LimboResult Judge(LimboCase testCase, LimboPlan plan, DenyReason? verdict, string shown, string platform) =>
        new(testCase, plan, Agrees(plan.Expectation, verdict) ? Outcome.Agree : Outcome.Disagree, shown, platform);

    /// <summary>
    /// The case's CRLs as ConfigCompiler.LoadCrl loads a trust store's CRL files: parsed, then verified against the first CA
    /// (anchors, then the case's intermediates) whose name and key fit, at the validation time; one CRL per CA. Null, with the
    /// loader's reason, when the gateway would refuse the configuration.
    /// </summary>
    public static List<CrlSource>? LoadCrls(IReadOnlyList<string> pems, IReadOnlyList<X509Certificate2> authorities, DateTimeOffset at, out string refusal)
    {
        ArgumentNullException.ThrowIfNull(pems);
        ArgumentNullException.ThrowIfNull(authorities);
        refusal = "";
        var crls = new List<CrlSource>();
        for (var i = 0; i < pems.Count; i++)
        {
            CertificateRevocationList crl;
            try
            {
                crl = CertificateRevocationList.Parse(Encoding.ASCII.GetBytes(pems[i]));
            }
            catch (Exception e) when (e is CryptographicException or FormatException)
            {
                refusal = $"cannot parse CRL {i}: {e.Message}";
                return null;
            }

            var reasons = new List<string>();
            CrlSource? source = null;
            foreach (var authority in authorities)
            {
                var problem = crl.Verify(authority, at);
                if (problem is null)
                {
                    source = new CrlSource(crl, authority, $"limbo crls[{i}]");
                    break;
                }

                if (authority.SubjectName.RawData.AsSpan().SequenceEqual(crl.Issuer.RawData))
                {
                    reasons.Add(problem);
                }
            }

            if (source is null)
            {
                refusal = $"CRL {i} (issuer '{crl.Issuer.Name}') is rejected: {(reasons.Count == 0 ? "no CA of the case has that name" : string.Join("; ", reasons))}";
                return null;
            }

            if (crls.Any(c => c.Issuer.Thumbprint == source.Issuer.Thumbprint))
            {
                refusal = $"several CRLs for '{source.Issuer.Subject}'";
                return null;
            }

            crls.Add(source);
        }

        return crls;
    }

    private static X509Certificate2? TryLoad(string pem, out string error)
    {
        try
        {
            error = "";
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>The chain status flags and depth the platform (OpenSSL on Linux) reports with the store's policy.</summary>
    private static string PlatformStatus(TrustStore store, X509Certificate2 leaf, X509Certificate2Collection intermediates, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy = store.ChainPolicy.Clone();
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        try
        {
            try
            {
                chain.Build(leaf);
            }
            catch (CryptographicException e)
            {
                return $"X509Chain.Build threw: {e.Message}";
            }

            var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
            return $"{flags} (chain of {chain.ChainElements.Count})";
        }
        finally
        {
            ChainValidator.DisposeElements(chain);
        }
    }
}
