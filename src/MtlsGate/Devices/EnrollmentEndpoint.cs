using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Logging;

namespace MtlsGate.Devices;

/// <summary>
/// <c>GET /.mtlsgate/enroll/{token}</c> on the public gateway listener: the one path a device reaches
/// without a certificate. It is answered here, before the policy decision, and never reaches the
/// backend (every request under the prefix ends here, answered or refused). Rate-limited per client
/// address and in total before the store is asked; the .p12 goes out as an attachment that no cache
/// keeps.
/// </summary>
public static class EnrollmentEndpoint
{
    /// <summary>Attempts per client address per minute (a phone that retries a few times stays under it).</summary>
    public const int PerAddressPerMinute = 10;

    /// <summary>Attempts per minute from everyone together (a distributed guesser meets this).</summary>
    public const int GlobalPerMinute = 60;

    private static readonly byte[] NotFound = "Not Found"u8.ToArray();
    private static readonly byte[] TooMany = "Too Many Requests"u8.ToArray();

    /// <summary>The enrolment links: the service and its rate limiter.</summary>
    public static IServiceCollection AddMtlsGateEnrollment(this IServiceCollection services)
    {
        services.AddSingleton<IDeviceCertificateIssuer, CaFolderIssuer>();
        services.AddSingleton<Enrollments>();
        services.AddSingleton(_ => new EnrollmentRateLimiter(TimeSpan.FromMinutes(1)));
        services.AddHostedService<EnrollmentWatcher>();
        return services;
    }

    /// <summary>Before routing and the decision: the enrolment prefix is answered here and nowhere else.</summary>
    public static IApplicationBuilder UseMtlsGateEnrollment(this IApplicationBuilder app) =>
        app.Use(next => context =>
            context.Request.Path.Value is { } path && path.StartsWith(Enrollments.PathPrefix, StringComparison.Ordinal)
                ? HandleAsync(context, path[Enrollments.PathPrefix.Length..])
                : next(context));

    private static async Task HandleAsync(HttpContext context, string token)
    {
        var services = context.RequestServices;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("MtlsGate.Enrollment");
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        var addressText = address.ToString();
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await WriteAsync(context, StatusCodes.Status404NotFound, NotFound).ConfigureAwait(false);
            return;
        }

        if (services.GetRequiredService<EnrollmentRateLimiter>().TryAcquire(address) is { } scope)
        {
            Log.EnrollmentRateLimited(logger, addressText, scope);
            response.Headers.RetryAfter = "60";
            await WriteAsync(context, StatusCodes.Status429TooManyRequests, TooMany).ConfigureAwait(false);
            return;
        }

        EnrollmentRecord? enrollment;
        try
        {
            enrollment = EnrollmentsOf(services) is { } enrollments
                ? await enrollments.RedeemAsync(token, context.RequestAborted).ConfigureAwait(false)
                : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EnrollmentStoreError(logger, addressText, ex.GetType().Name);
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Service Unavailable"u8.ToArray()).ConfigureAwait(false);
            return;
        }

        if (enrollment is null)
        {
            Log.EnrollmentRefused(logger, addressText);
            await WriteAsync(context, StatusCodes.Status404NotFound, NotFound).ConfigureAwait(false);
            return;
        }

        Log.EnrollmentRedeemed(logger, Text.HeaderEncoding.Encode(enrollment.Name), enrollment.Sha256, addressText);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/x-pkcs12";
        // RFC 6266: a download, never shown inline; the name is restricted to [A-Za-z0-9-_.@] at creation.
        response.Headers.ContentDisposition = $"attachment; filename=\"{enrollment.Name}.p12\"";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers.Pragma = "no-cache";
        response.ContentLength = enrollment.Pkcs12.Length;
        await response.Body.WriteAsync(enrollment.Pkcs12, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The enrolment service, when this process has a device store and a certificate issuer; else null.</summary>
    public static Enrollments? EnrollmentsOf(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetService<IDeviceStore>() is not null && services.GetService<IDeviceCertificateIssuer>() is not null
            ? services.GetService<Enrollments>()
            : null;
    }

    private static Task WriteAsync(HttpContext context, int status, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "text/plain";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body).AsTask();
    }
}

/// <summary>Fixed one-minute windows: one per client address (partitioned) and one for everyone, both must admit.</summary>
public sealed class EnrollmentRateLimiter(TimeSpan window) : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _perAddress = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = EnrollmentEndpoint.PerAddressPerMinute,
            Window = window,
            QueueLimit = 0,
        }));

    private readonly FixedWindowRateLimiter _global = new(new FixedWindowRateLimiterOptions
    {
        PermitLimit = EnrollmentEndpoint.GlobalPerMinute,
        Window = window,
        QueueLimit = 0,
    });

    /// <summary>Null when admitted; else which limit refused ("address" or "global").</summary>
    public string? TryAcquire(IPAddress address)
    {
        using var perAddress = _perAddress.AttemptAcquire(address);
        if (!perAddress.IsAcquired)
        {
            return "address";
        }

        using var global = _global.AttemptAcquire();
        return global.IsAcquired ? null : "global";
    }

    public void Dispose()
    {
        _perAddress.Dispose();
        _global.Dispose();
    }
}
