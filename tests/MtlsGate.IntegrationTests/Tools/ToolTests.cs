namespace MtlsGate.Tests.Tools;

/// <summary>A test that needs a missing outside tool is skipped with the install command, or fails under MTLSGATE_REQUIRE_TOOLS=1.</summary>
public sealed class ToolTests
{
    [Fact]
    public void A_missing_tool_is_a_skip_naming_the_install_command()
    {
        var missing = Tool.Missing("'chromium' is not installed", "apt-get install chromium", required: false);

        var skip = Assert.IsType<SkipException>(missing);
        Assert.Contains("'chromium' is not installed: apt-get install chromium", skip.Message, StringComparison.Ordinal);
        Assert.Contains(Tool.RequireVariable + "=1", skip.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Under_MTLSGATE_REQUIRE_TOOLS_a_missing_tool_is_a_failure()
    {
        var missing = Tool.Missing("the npm package ws@8 is not installed globally", "npm install -g ws@8", required: true);

        Assert.IsType<Xunit.Sdk.XunitException>(missing);
        Assert.IsNotType<SkipException>(missing);
        Assert.Contains("npm install -g ws@8", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Require_of_a_program_not_on_PATH_names_its_package_and_follows_the_variable()
    {
        var thrown = Record.Exception(() => Tool.Require("pk12util-that-does-not-exist"));
        var known = Record.Exception(() => Tool.Resolve("certutil-that-does-not-exist"));

        Assert.IsType(Tool.Required ? typeof(Xunit.Sdk.XunitException) : typeof(SkipException), thrown);
        Assert.Contains("install the package that provides 'pk12util-that-does-not-exist'", thrown.Message, StringComparison.Ordinal);
        Assert.NotNull(known);
    }

    [Fact]
    public async Task The_process_runner_skips_a_test_whose_program_is_missing_or_fails_it_under_the_variable()
    {
        var thrown = await Record.ExceptionAsync(() => ProcessRunner.RunAsync("mtlsgate-tool-that-does-not-exist", "--version"));

        Assert.IsType(Tool.Required ? typeof(Xunit.Sdk.XunitException) : typeof(SkipException), thrown);
        Assert.Contains("'mtlsgate-tool-that-does-not-exist' is not installed", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_leaves_dotnet_and_paths_alone_and_finds_installed_programs()
    {
        Assert.Equal("dotnet", Tool.Resolve("dotnet"));
        Assert.Equal("/opt/mtlsgate/mtlsgate", Tool.Resolve("/opt/mtlsgate/mtlsgate"));
        Assert.True(Path.IsPathRooted(Tool.Resolve("sh")));
    }

    [Theory]
    [InlineData("certutil", "apt-get install libnss3-tools")]
    [InlineData("pk12util", "apt-get install libnss3-tools")]
    [InlineData("nghttp", "apt-get install nghttp2-client")]
    [InlineData("chromium", "apt-get install chromium")]
    [InlineData("sslscan", "apt-get install sslscan")]
    [InlineData("node", "apt-get install nodejs")]
    [InlineData("curl", "apt-get install curl")]
    [InlineData("openssl", "apt-get install openssl")]
    public void Each_outside_program_maps_to_the_package_that_provides_it(string program, string command) =>
        Assert.Equal(command, Tool.InstallCommandFor(program));
}
