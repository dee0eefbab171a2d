// MtlsGate: device-level mutual TLS in front of self-hosted apps.
// Table of contents:
//   Cli/          verbs: (serve), demo, healthcheck
//   Configuration bind, validate (every error with its key), compile to an immutable snapshot
//   Tls/          Kestrel listeners, per-connection chain validation against the operator's CA bundle
//   Policy/       the pure decision: identity + policy -> Allow | Deny(reason) | WouldDeny(reason)
//   Denials/      the gateway middleware and the denial responder (never reaches the proxy)
//   Proxy/        YARP forwarding, header stripping, identity headers
//   Management/   /healthz on the plain-HTTP management listener
//   Hosting/      GatewayApp: builds the host from layered configuration
return await MtlsGate.Cli.CommandLine.RunAsync(args).ConfigureAwait(false);
