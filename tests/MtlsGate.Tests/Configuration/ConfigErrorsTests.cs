using MtlsGate.Configuration;
using MtlsGate.Policy;

namespace MtlsGate.Tests.Configuration;

/// <summary>The shared errors helper: names-only enums, strict scalars, file checks, key suggestions.</summary>
public sealed class ConfigErrorsTests
{
    [Theory]
    [InlineData("LogOnly", EnforcementMode.LogOnly)]
    [InlineData("logonly", EnforcementMode.LogOnly)]
    [InlineData("ENFORCE", EnforcementMode.Enforce)]
    public void Enum_AName_InAnyCase_IsRead(string value, EnforcementMode expected)
    {
        var errors = new ConfigErrors();

        Assert.True(errors.Enum<EnforcementMode>(value, "K", EnforcementMode.Enforce, out var mode));
        Assert.Equal(expected, mode);
        Assert.Empty(errors.All);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData(" 1")]
    [InlineData("0x1")]
    [InlineData("1,2")]
    [InlineData("Enforce, LogOnly")]
    [InlineData("Enforce,LogOnly")]
    [InlineData(" LogOnly")]
    [InlineData("")]
    [InlineData("Log Only")]
    public void Enum_ANumberOrAnythingButOneName_IsRefused_ListingTheNames(string value)
    {
        var errors = new ConfigErrors();

        Assert.False(errors.Enum<EnforcementMode>(value, "MtlsGate:Policies:P:Mode", EnforcementMode.Enforce, out var mode));
        Assert.Equal(EnforcementMode.Enforce, mode);
        var error = Assert.Single(errors.All);
        Assert.Equal($"MtlsGate:Policies:P:Mode: '{value}' is not one of Enforce, LogOnly (names only; numbers are refused).", error);
    }

    [Fact]
    public void Enum_Null_IsTheFallback_WithoutAnError()
    {
        var errors = new ConfigErrors();

        Assert.True(errors.Enum<DenialAction>(null, "K", DenialAction.Respond, out var action));
        Assert.Equal(DenialAction.Respond, action);
        Assert.Equal(0, errors.Count);
    }

    [Fact]
    public void Enum_AnExcludedName_IsRefused_AndNotListed()
    {
        var errors = new ConfigErrors();

        Assert.False(errors.Enum("None", "K", DenyReason.None, out _, DenyReason.None));
        Assert.DoesNotContain("None,", errors.All[0], StringComparison.Ordinal);
        Assert.Contains("NoCertificate", errors.All[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cf-connecting-ip", "CF-Connecting-IP")]
    [InlineData("X-FORWARDED-FOR", "X-Forwarded-For")]
    public void OneOf_ReturnsTheCanonicalSpelling(string value, string expected)
    {
        Assert.Equal(expected, new ConfigErrors().OneOf(value, "K", MtlsGateOptions.ClientIpHeaders));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("Forwarded")]
    [InlineData("")]
    public void OneOf_AnythingElse_IsRefusedNamingTheKey(string value)
    {
        var errors = new ConfigErrors();

        Assert.Null(errors.OneOf(value, "MtlsGate:ClientIpHeader", MtlsGateOptions.ClientIpHeaders));
        Assert.StartsWith("MtlsGate:ClientIpHeader: ", Assert.Single(errors.All), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(typeof(bool), "true", true)]
    [InlineData(typeof(bool), "False", true)]
    [InlineData(typeof(bool), "1", false)]
    [InlineData(typeof(bool), "yes", false)]
    [InlineData(typeof(bool), "", false)]
    [InlineData(typeof(int), "404", true)]
    [InlineData(typeof(int), "-1", true)]
    [InlineData(typeof(int), "0x194", false)]
    [InlineData(typeof(int), "#194", false)]
    [InlineData(typeof(int), " 404", false)]
    [InlineData(typeof(int), "404.0", false)]
    [InlineData(typeof(int), "1,000", false)]
    [InlineData(typeof(int), "99999999999", false)]
    [InlineData(typeof(int), "", false)]
    [InlineData(typeof(int?), "", true)]
    [InlineData(typeof(long?), "1073741824", true)]
    [InlineData(typeof(long), "1e9", false)]
    [InlineData(typeof(TimeSpan), "00:00:30", true)]
    [InlineData(typeof(TimeSpan), "30.00:00:00", true)]
    [InlineData(typeof(TimeSpan), "00:00:00.100", true)]
    [InlineData(typeof(TimeSpan), "2", false)]
    [InlineData(typeof(TimeSpan), "30s", false)]
    [InlineData(typeof(TimeSpan?), "", true)]
    [InlineData(typeof(string), "", true)]
    [InlineData(typeof(DenialAction), "Close", true)]
    [InlineData(typeof(DenialAction), "1", false)]
    public void ScalarProblem_IsStrict(Type type, string value, bool acceptable)
    {
        Assert.Equal(acceptable, ConfigErrors.ScalarProblem(type, value) is null);
    }

    [Fact]
    public void FileExists_AMissingFile_IsReportedWithKeyAndPath()
    {
        var errors = new ConfigErrors();
        var path = Path.Combine(Path.GetTempPath(), "mtlsgate-no-such-file-" + Guid.NewGuid().ToString("N"));

        Assert.False(errors.FileExists(path, "MtlsGate:GeoIp:Database"));
        Assert.Equal($"MtlsGate:GeoIp:Database: file '{path}' does not exist.", Assert.Single(errors.All));
    }

    [Fact]
    public void Positive_ZeroAndNegative_AreReported()
    {
        var errors = new ConfigErrors();

        errors.Positive(0, "A");
        errors.Positive(TimeSpan.FromSeconds(-1), "B");
        errors.Positive(1, "C");

        Assert.Equal(2, errors.Count);
        Assert.StartsWith("A: must be positive", errors.All[0], StringComparison.Ordinal);
        Assert.StartsWith("B: must be positive", errors.All[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Identites", "Identities")]
    [InlineData("identites", "Identities")]
    [InlineData("Requir", "Require")]
    [InlineData("TrustStor", "TrustStore")]
    [InlineData("DenyByReasons", "DenyByReason")]
    public void UnknownKey_SuggestsTheNearestName(string key, string expected)
    {
        var known = new[] { "TrustStore", "Require", "Mode", "Deny", "DenyByReason", "Identities", "MethodRestrictions" };

        Assert.Equal($"unknown key; did you mean '{expected}'?", ConfigSchema.UnknownKey(key, known));
    }

    [Fact]
    public void UnknownKey_NothingNear_ListsTheValidKeys()
    {
        Assert.Equal("unknown key; valid here: Mode, Require.", ConfigSchema.UnknownKey("Completely", ["Require", "Mode"]));
    }

    [Theory]
    [InlineData("", "", 0)]
    [InlineData("abc", "abc", 0)]
    [InlineData("abc", "acb", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("Identites", "Identities", 1)]
    public void Distance_IsTheEditDistance(string a, string b, int expected)
    {
        Assert.Equal(expected, ConfigSchema.Distance(a, b));
    }
}
