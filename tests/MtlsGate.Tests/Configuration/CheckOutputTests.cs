using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Configuration;

/// <summary><c>mtlsgate check</c> shows the trust store that really judges: per host, per route, and per route on each host where it differs.</summary>
public sealed class CheckOutputTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Check_PrintsTheEffectiveTrustStore_PerHost_PerRoute_AndPerRouteOnAHostWhereItDiffers()
    {
        var file = Path.Combine(_files.Folder, "gateway.json");
        await File.WriteAllTextAsync(file, ConfigFiles.TwoHostsWithAllowList().ToJsonString());

        var (exitCode, output, error) = await ProcessRunner.GateAsync("check", "--config", file);

        Assert.True(exitCode == 0, error);
        Assert.Matches(@"Host other\.test: .*trust store Other \(for every request on its connections", output);
        Assert.Matches(@"Host vault\.test: .*trust store Default ", output);
        Assert.Matches(@"(?m)^app\s+\{\*\*catch-all\}\s+Default\*\s+Certificate\s+Enforce\s+Default\s", output);
        Assert.Matches(@"(?m)^  on other\.test\s+OtherDevices\s+Certificate\s+Enforce\s+Other\s", output);
        Assert.Matches(@"(?m)^send\s+/api/sends/access/\{\*\*rest\}\s+Public\s+None\s+Enforce\s+Default\s", output);
        Assert.Matches(@"(?m)^admin\s+/admin/\{\*\*rest\}\s+Admins\s", output);
        Assert.DoesNotMatch(@"(?m)^admin[^\n]*\n  on other\.test", output); // scoped to vault.test
    }

    [Fact]
    public async Task Check_ARouteContradictingAHostsTrustStore_Fails_NamingRoutePolicyAndHost()
    {
        var config = ConfigFiles.TwoHostsWithAllowList();
        config["ReverseProxy"]!["Routes"]!["admin"]!["Match"]!.AsObject().Remove("Hosts");
        var file = Path.Combine(_files.Folder, "gateway.json");
        await File.WriteAllTextAsync(file, config.ToJsonString());

        var (exitCode, _, error) = await ProcessRunner.GateAsync("check", "--config", file);

        Assert.Equal(2, exitCode);
        Assert.Contains("ReverseProxy:Routes:admin:Metadata:MtlsGate.Policy: route 'admin' uses policy 'Admins' (trust store 'Default') and can serve host 'other.test'", error, StringComparison.Ordinal);
    }
}
