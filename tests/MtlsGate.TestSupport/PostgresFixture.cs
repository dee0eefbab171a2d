namespace MtlsGate.Tests.TestSupport;

/// <summary>
/// One <see cref="PostgresCluster"/> per test class (<c>IClassFixture&lt;PostgresFixture&gt;</c>). A missing
/// server does not fail the fixture: each test calls <see cref="Cluster"/>, which rethrows the skip (or,
/// under <c>MTLSGATE_REQUIRE_TOOLS=1</c>, the failure) there.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;
    private Exception? _problem;

    /// <summary>The running cluster; skips (or fails) the calling test when it could not start.</summary>
    public PostgresCluster Cluster => _cluster ?? throw (_problem is SkipException skip ? new SkipException(skip.Message) : _problem is Xunit.Sdk.XunitException x ? new Xunit.Sdk.XunitException(x.Message) : new InvalidOperationException("PostgreSQL did not start.", _problem));

    public async Task InitializeAsync()
    {
        try
        {
            _cluster = await PostgresCluster.StartAsync();
        }
        catch (Exception ex)
        {
            _problem = ex;
        }
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
