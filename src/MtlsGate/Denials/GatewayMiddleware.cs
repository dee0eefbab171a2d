using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Devices;
using MtlsGate.Logging;
using MtlsGate.Login;
using MtlsGate.Policy;
using MtlsGate.Text;
using MtlsGate.Tls;
using Yarp.ReverseProxy.Model;

namespace MtlsGate.Denials;

/// <summary>
/// The one place a request is judged: facts in (identity of the connection, route policy), the pure
/// evaluator decides, and a denial is answered here and never reaches the proxy. A forwarded request
/// carries the decision on with it (<see cref="DecidedRequest"/>). Also writes the access event.
/// </summary>
public sealed class GatewayMiddleware(RequestDelegate next, GatewayState state, GatewayMeter metrics, ILoggerFactory loggers, DeviceInventory inventory, DeviceBlockList blockList)
{
    private const string NoRoute = "(none)";

    /// <summary>Logged status of a silent close (nginx's convention): nothing was sent.</summary>
    public const int ClosedStatus = 444;
    private readonly ILogger _access = loggers.CreateLogger("MtlsGate.Access");
    private readonly ILogger _edges = loggers.CreateLogger("MtlsGate.Edges");

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var route = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>();
        // The configuration that built this request's route, not whichever is current (see GatewayState).
        var snapshot = state.SnapshotFor(route?.Config);
        // Time moves on while a connection stays open: re-judge verdicts that ran out, and end a
        // connection past MaxConnectionLifetime (this request is denied, then the connection closes).
        var connection = context.Features.Get<ConnectionIdentityFeature>();
        var tooOld = connection is not null && !connection.Refresh(snapshot.LiveLimits.MaxConnectionLifetime);
        var (policy, identity) = Resolve(context, connection, snapshot, route, _edges);
        IPAddress? address = null;
        LoginSession? session = null;
        Decision decision;
        if (tooOld)
        {
            decision = Decision.Deny(DenyReason.ConnectionLifetimeExceeded);
        }
        else
        {
            address = ClientAddress.Resolve(context, snapshot);
            session = LoginGate.SessionFor(context, snapshot, policy);   // Login/: certificate OR login
            var facts = Facts(context, snapshot, policy, address) with { Session = session, DeviceVerdict = DeviceVerdict(identity, session) };
            decision = PolicyEvaluator.Evaluate(identity, facts, policy);
        }

        var routeId = route?.Config.RouteId ?? NoRoute;

        if (decision.Outcome == Outcome.WouldDeny)
        {
            Log.WouldDeny(_access, decision.Reason, context.Request.Method, LoggedPath(context), routeId, policy.Name, identity.Sha256Fingerprint);
        }

        var closed = false;
        if (!decision.Forwards)
        {
            // Login/: where a login is what is missing, a 302 to the login (browser) or the Bitwarden
            // connector page; otherwise the policy's configured denial.
            if (!LoginGate.TryPrompt(context, snapshot, policy, decision))
            {
                var response = DenialTable.For(snapshot).For(policy).ResponseFor(decision.Reason);
                closed = response.Action == DenialAction.Close;
                if (tooOld)
                {
                    connection!.RequestClose();
                }

                await DenialResponder.WriteAsync(context, response).ConfigureAwait(false);
            }
        }
        else if (route is null)
        {
            // Allowed, but nothing to route to: answered exactly like the default denial.
            decision = Decision.Deny(DenyReason.NoRoute);
            var response = DenialTable.For(snapshot).For(snapshot.DefaultPolicy).Deny;
            closed = response.Action == DenialAction.Close;
            await DenialResponder.WriteAsync(context, response).ConfigureAwait(false);
        }
        else
        {
            // Decided once: the proxy's transforms read this, never resolving again. (The client's
            // spoofable headers are stripped by the first of them, before any header is set.)
            context.Features.Set(new DecidedRequest(snapshot, policy, identity, decision, address, connection) { Session = session });
            await next(context).ConfigureAwait(false);
        }

        metrics.RecordRequest(routeId, decision.Outcome, decision.Reason, identity.Source);
        inventory.Observe(identity, address, context.Request.Headers.UserAgent.Count == 0 ? null : context.Request.Headers.UserAgent.ToString(), decision);
        if (_access.IsEnabled(LogLevel.Information))
        {
            Log.Access(_access, context.Request.Method, LoggedPath(context), routeId, Names.Of(decision.Outcome), Names.Of(decision.Reason),
                identity.EncodedSubject, identity.Sha256Fingerprint, identity.Source, closed ? ClosedStatus : context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    /// <summary>
    /// The device inventory's verdict, a fact like the others (an in-memory lookup, no I/O): on the presented
    /// certificate, else on the certificate a certificate-started session came from (a lost phone's session
    /// ends with its block).
    /// </summary>
    private DenyReason DeviceVerdict(ClientIdentity identity, LoginSession? session)
    {
        var device = blockList.VerdictFor(identity.Sha256Fingerprint);
        return device == DenyReason.None && session?.CertificateSha256 is { } sessionCertificate ? blockList.VerdictFor(sessionCertificate) : device;
    }

    /// <summary>The request facts for the policy: client address (trusted proxies resolved), country, host binding.</summary>
    private static RequestFacts Facts(HttpContext context, GatewaySnapshot snapshot, CompiledPolicy policy, IPAddress? address)
    {
        var country = policy.HasCountryRules && address is not null ? snapshot.GeoIp?.CountryOf(address) : null;
        return new RequestFacts(context.Request.Method, address, country, HostMatches(context, snapshot));
    }

    /// <summary>
    /// A request must be for the host its TLS connection was established for: a connection made for a
    /// configured host (SNI) serves only that host; a connection on the default settings serves no
    /// configured host. Catches HTTP/2 connection reuse for another name and SNI/Host mismatches.
    /// </summary>
    private static bool HostMatches(HttpContext context, GatewaySnapshot snapshot)
    {
        if (snapshot.Hosts.Count == 0 || ForwardedIdentity.EdgeOf(context) is not null)
        {
            // An edge's requests chose their host (and its trust store) by their forwarded Host: no TLS
            // connection of the client's here to bind them to.
            return true;
        }

        var connectionHost = context.Features.Get<ConnectionIdentityFeature>()?.HostName;
        // "b.test." is b.test: a trailing dot must not slip past the binding.
        var requestHost = context.Request.Host.Host.TrimEnd('.');
        return connectionHost is not null
            ? string.Equals(connectionHost, requestHost, StringComparison.OrdinalIgnoreCase)
            : !snapshot.Hosts.ContainsKey(requestHost);
    }

    /// <summary>
    /// The route's policy and the connection's identity judged against the trust store
    /// <see cref="PolicyResolution.For"/> names: a configured host's own store on its connections, else the policy's.
    /// </summary>
    private static (CompiledPolicy Policy, ClientIdentity Identity) Resolve(HttpContext context, ConnectionIdentityFeature? connection, GatewaySnapshot snapshot, RouteModel? route, ILogger edges)
    {
        string? policyName = null;
        route?.Config.Metadata?.TryGetValue(ConfigCompiler.PolicyMetadataKey, out policyName);
        if (ForwardedIdentity.EdgeOf(context) is { } edge)
        {
            // Through an authenticated edge: the forwarded Host and certificate, same resolution and validator.
            var (edgePolicy, edgeStore) = PolicyResolution.For(snapshot, ForwardedIdentity.HostOf(context, snapshot), policyName);
            return (edgePolicy, ForwardedIdentity.Resolve(edge, context, edgeStore, edges));
        }

        var (policy, store) = PolicyResolution.For(snapshot, connection?.HostName, policyName);
        if (connection is null)
        {
            return (policy, ClientIdentity.None);
        }

        var identity = store is not null ? connection.IdentityFor(store) : connection.Identity;
        return (policy, identity);
    }

    /// <summary>The decoded path made safe for a log line (no CR/LF injection); the query string is never logged.</summary>
    private static string LoggedPath(HttpContext context) => HeaderEncoding.Encode(context.Request.Path.Value ?? "");
}

/// <summary>The deciding middleware in the pipeline.</summary>
public static class DecisionPipeline
{
    /// <summary>After routing, before the proxy: every gateway request is decided here, once.</summary>
    public static IApplicationBuilder UseMtlsGateDecision(this IApplicationBuilder app) => app.UseMiddleware<GatewayMiddleware>();
}
