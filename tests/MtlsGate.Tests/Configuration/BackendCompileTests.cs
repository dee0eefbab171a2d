using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using MtlsGate.Cli;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Configuration;

/// <summary><c>MtlsGate:Backends</c> refused at start-up, each error naming its key.</summary>
public sealed class BackendCompileTests : IDisposable
{
    private readonly BackendPki _pki = new();
    private readonly ConfigFiles _files = new();

    public void Dispose()
    {
        _pki.Dispose();
        _files.Dispose();
    }

    private IReadOnlyList<string> StartUpErrors(Action<JsonObject> entry, Action<JsonObject>? config = null)
    {
        var json = ConfigFiles.Minimal();
        json["MtlsGate"]!["StateDirectory"] = Path.Combine(_files.Folder, "state");
        _pki.Configure(json, new Uri("https://127.0.0.1:9443/"), entry: entry);
        config?.Invoke(json);
        var file = Path.Combine(_files.Folder, "gateway.json");
        File.WriteAllText(file, json.ToJsonString());
        var build = CommandLine.Build(["--config", file], includeAppSettings: false);
        if (build.App is { } app)
        {
            ((IDisposable)app).Dispose();
        }

        return build.Errors;
    }

    [Fact]
    public void A_valid_entry_starts()
    {
        Assert.Empty(StartUpErrors(_ => { }));
    }

    [Fact]
    public void A_Backends_key_that_names_no_cluster_is_refused_naming_the_key()
    {
        var errors = StartUpErrors(_ => { }, json =>
        {
            var backends = json["MtlsGate"]!["Backends"]!.AsObject();
            var entry = backends["app"]!.DeepClone();
            backends.Remove("app");
            backends["vw"] = entry;
        });

        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:Backends:vw:", error, StringComparison.Ordinal);
        Assert.Contains("no cluster 'vw'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_client_certificate_file_is_refused_naming_the_key()
    {
        var errors = StartUpErrors(e => e["ClientCertificate"]!["Path"] = _pki.PathOf("absent.pem"));

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Backends:app:ClientCertificate:Path:", StringComparison.Ordinal) && e.Contains("does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_CaBundle_file_is_refused_naming_the_key()
    {
        var errors = StartUpErrors(e => e["CaBundle"] = _pki.PathOf("absent-ca.pem"));

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Backends:app:CaBundle:", StringComparison.Ordinal) && e.Contains("does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void A_key_that_does_not_match_the_client_certificate_is_refused_naming_the_key()
    {
        _pki.WritePem("other", _pki.Client2);
        var errors = StartUpErrors(e => e["ClientCertificate"]!["KeyPath"] = _pki.PathOf("other.key"));

        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:Backends:app:ClientCertificate:", error, StringComparison.Ordinal);
        Assert.Contains("does not match", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_CaBundle_holding_a_leaf_instead_of_a_CA_is_refused_naming_the_key()
    {
        var errors = StartUpErrors(e => e["CaBundle"] = _pki.PathOf("backend-server.pem"));

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Backends:app:CaBundle:", StringComparison.Ordinal) && e.Contains("not a CA certificate", StringComparison.Ordinal));
    }

    [Fact]
    public void A_client_certificate_without_clientAuth_usage_is_refused_naming_the_key()
    {
        _pki.WritePem("server-as-client", _pki.Server);
        var errors = StartUpErrors(e => e["ClientCertificate"] = new JsonObject { ["Path"] = _pki.PathOf("server-as-client.pem"), ["KeyPath"] = _pki.PathOf("server-as-client.key") });

        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:Backends:app:ClientCertificate:Path:", error, StringComparison.Ordinal);
        Assert.Contains("clientAuth", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_PKCS12_client_certificate_with_its_password_is_accepted_and_a_wrong_password_refused_naming_the_key()
    {
        File.WriteAllBytes(_pki.PathOf("client.p12"), MtlsGate.Tls.Pki.ExportPkcs12(_pki.Client1, [], "s3cret", compatible: false));

        Assert.Empty(StartUpErrors(e => e["ClientCertificate"] = new JsonObject { ["Path"] = _pki.PathOf("client.p12"), ["Password"] = "s3cret" }));
        var errors = StartUpErrors(e => e["ClientCertificate"] = new JsonObject { ["Path"] = _pki.PathOf("client.p12"), ["Password"] = "wrong" });
        Assert.StartsWith("MtlsGate:Backends:app:ClientCertificate:", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_CaBundle_is_required_unless_UseSystemTrust()
    {
        var errors = StartUpErrors(e => e.Remove("CaBundle"));
        Assert.StartsWith("MtlsGate:Backends:app:CaBundle:", Assert.Single(errors), StringComparison.Ordinal);

        Assert.Empty(StartUpErrors(e =>
        {
            e.Remove("CaBundle");
            e["UseSystemTrust"] = true;
        }));
    }

    [Fact]
    public void An_http_destination_of_a_cluster_with_a_Backends_entry_is_refused()
    {
        var errors = StartUpErrors(_ => { }, json => json["ReverseProxy"]!["Clusters"]!["app"]!["Destinations"]!["d1"]!["Address"] = "http://127.0.0.1:9080/");

        var error = Assert.Single(errors);
        Assert.StartsWith("MtlsGate:Backends:app:", error, StringComparison.Ordinal);
        Assert.Contains("https://", error, StringComparison.Ordinal);
    }

    [Fact]
    public void DangerousAcceptAnyServerCertificate_on_a_cluster_with_a_Backends_entry_is_refused()
    {
        var errors = StartUpErrors(_ => { }, json => json["ReverseProxy"]!["Clusters"]!["app"]!["HttpClient"] = new JsonObject { ["DangerousAcceptAnyServerCertificate"] = true });

        Assert.Contains("DangerousAcceptAnyServerCertificate", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_key_in_a_Backends_entry_is_refused_by_the_schema()
    {
        var errors = StartUpErrors(e => e["CaBundel"] = "x.pem");

        Assert.Contains(errors, e => e.StartsWith("MtlsGate:Backends:app:CaBundel", StringComparison.Ordinal));
    }

    [Fact]
    public void The_backend_files_are_watched_for_reload()
    {
        var json = ConfigFiles.Minimal();
        _pki.Configure(json, new Uri("https://127.0.0.1:9443/"));
        var configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString())))
            .Build();

        var files = MtlsGate.Configuration.ConfigInputs.Files(configuration, _files.Folder);

        Assert.Contains(_pki.PathOf("client.pem"), files);
        Assert.Contains(_pki.PathOf("client.key"), files);
        Assert.Contains(_pki.PathOf("backend-ca.pem"), files);
    }

    [Fact]
    public async Task Check_prints_per_backend_the_client_certificate_subject_and_expiry_and_the_backend_CA()
    {
        Assert.Empty(StartUpErrors(_ => { }));
        var file = Path.Combine(_files.Folder, "gateway.json");

        var (exitCode, output, error) = await ProcessRunner.GateAsync("check", "--config", file);

        Assert.True(exitCode == 0, error);
        Assert.Matches(@"(?m)^Backend app: client certificate CN=gateway-client-1, O=MtlsGate sha256=[0-9a-f]{64} expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d+ days left\)", output);
        Assert.Contains("backend certificate verified against CA CN=Backend Server CA from " + _pki.PathOf("backend-ca.pem"), output, StringComparison.Ordinal);
        Assert.Contains("it must name 127.0.0.1", output, StringComparison.Ordinal);
    }
}
