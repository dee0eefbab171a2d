using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtlsGate.Tests.TestSupport;

namespace MtlsGate.Tests.Functional;

public sealed class StartupTests
{
    [Fact]
    public async Task TheGateway_CreatesNoDataProtectionKeyRingAtStartUp_SoNoKeyFileIsWritten()
    {
        // YARP adds ASP.NET Core data protection, whose hosted service would create a key ring (and
        // write a key under ~/.aspnet) at every start; the gateway removes that service.
        List<ServiceDescriptor>? registered = null;
        await using var gateway = await TestGateway.StartAsync(services: services => registered = [.. services]);

        Assert.NotNull(registered);
        Assert.DoesNotContain(registered, d => d.ServiceType == typeof(IHostedService)
            && (d.ImplementationType?.FullName ?? "").Contains("DataProtection", StringComparison.Ordinal));
        Assert.Contains(registered, d => d.ServiceType == typeof(Microsoft.AspNetCore.DataProtection.IDataProtectionProvider)
            && d.ImplementationInstance is Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider);
        using var client = gateway.Client(TestPki.Instance.Good);
        using var response = await client.GetAsync("/");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }
}
