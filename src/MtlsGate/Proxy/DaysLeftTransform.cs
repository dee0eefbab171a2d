using System.Globalization;
using MtlsGate.Policy;
using Yarp.ReverseProxy.Transforms;

namespace MtlsGate.Proxy;

/// <summary>
/// With <c>MtlsGate:Expiry:SendDaysLeftHeader</c>, sets <c>X-Client-Cert-Days-Left</c>: whole days
/// until the valid client certificate expires, by the injected clock.
/// </summary>
public sealed class DaysLeftTransform(TimeProvider time) : RequestTransform
{
    public const string HeaderName = "X-Client-Cert-Days-Left";

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var decided = Decided.Of(context);
        if (decided.Connection is not null && decided.Snapshot.Expiry.SendDaysLeftHeader && decided.Identity.IsValid)
        {
            var days = CertificateExpiry.DaysLeft(decided.Identity.NotAfter, time.GetUtcNow());
            context.ProxyRequest.Headers.TryAddWithoutValidation(HeaderName, days.ToString(CultureInfo.InvariantCulture));
        }

        return ValueTask.CompletedTask;
    }
}
