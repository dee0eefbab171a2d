// MtlsGate: device-level mutual TLS in front of self-hosted apps.
// Table of contents. Folders are floors: each imports only the floors below it
// (tests/MtlsGate.Tests/Architecture/LayeringTests.cs proves it).
//   Cli/           top: the verbs (serve, demo, healthcheck, init, client, check, verify); parses arguments
//   Hosting/       the composition root: GatewayApp.Build reads as AddMtlsGateX()/UseMtlsGateX() calls;
//                  Kestrel listeners, the reloader, CRL downloads
//   Denials/       UseRequestTargetCheck, UseMtlsGateDecision: decides once, answers a denial, never reaches the proxy
//   Proxy/         AddMtlsGateProxy: YARP and its transforms (strip spoofable headers, real IP, identity, days left)
//   Management/    AddMtlsGateManagement, UseMtlsGateManagement: /healthz, /readyz, /metrics, expiry monitor
//                  (Denials, Proxy and Management are siblings and never import each other)
//   Configuration/ ConfigLayers, bind, validate (every error with its key), compile to the immutable snapshot;
//                  GatewayState; the decision a forwarded request carries (DecidedRequest)
//   Tls/           chain validation, trust stores, CRLs, revocation, PKI, the connection's identity
//   Logging/       AddMtlsGateLogging: every [LoggerMessage], Serilog, the batched sink, the meter
//   Policy/        the pure decision: identity + facts + policy -> Allow | Deny(reason) | WouldDeny(reason)
//   Text/          bottom: header/log-safe encodings, certificate fingerprints
// Before anything loads OpenSSL: its configuration (the TLS cipher list) is read once, at that moment.
MtlsGate.Tls.OpenSslConfiguration.Apply();
return await MtlsGate.Cli.CommandLine.RunAsync(args).ConfigureAwait(false);
