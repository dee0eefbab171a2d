using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Devices;
using MtlsGate.Logging;

namespace MtlsGate.Management;

/// <summary>
/// The admin JSON API (ARCHITECTURE.md, "Added in the second round"):
/// <c>GET /admin/api/devices</c> (the device table: <c>?status=</c>, <c>?expires=</c> days, <c>?sort=</c>,
/// <c>?order=asc|desc</c>, <c>?page=</c>), <c>GET /admin/api/devices/{sha256}</c>,
/// <c>POST /admin/api/devices/{sha256}/block</c>, <c>/unblock</c>, <c>/revoke</c>, and
/// <c>POST /admin/api/enrollments</c> with <c>{"name": "…", "compatible": false}</c> →
/// <c>{"url", "password", "expiresAt"}</c>. Every POST needs <c>X-Requested-With: MtlsGate</c>.
/// </summary>
internal static class AdminApi
{
    private const int MaxBodyBytes = 4 * 1024;

    public static async Task HandleAsync(HttpContext context, string rest, ILogger logger, Func<HttpContext, Task> notFound)
    {
        var request = context.Request;
        var services = context.RequestServices;
        var store = services.GetService<IDeviceStore>();
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        if (HttpMethods.IsPost(request.Method) && AdminCsrf.CheckApi(request) is { } problem)
        {
            Log.AdminRequestRefused(logger, problem, request.Method, Text.HeaderEncoding.Encode(request.Path.Value ?? ""), StatusCodes.Status403Forbidden);
            await WriteJsonAsync(context, StatusCodes.Status403Forbidden, new { error = $"refused: {problem}" }).ConfigureAwait(false);
            return;
        }

        var parts = rest.Split('/');
        switch (request.Method, parts)
        {
            case ("GET", ["devices"]) when store is not null:
                var query = AdminQuery.From(request.Query, now);
                var devices = await store.ListAsync(query.Device, context.RequestAborted).ConfigureAwait(false);
                await WriteJsonAsync(context, StatusCodes.Status200OK, devices.Select(d => Dto(d, now))).ConfigureAwait(false);
                return;
            case ("GET", ["devices", var id]) when store is not null && Sha256(id) is { } sha256:
                var device = await store.GetAsync(sha256, context.RequestAborted).ConfigureAwait(false);
                if (device is null)
                {
                    await WriteJsonAsync(context, StatusCodes.Status404NotFound, new { error = "no such device" }).ConfigureAwait(false);
                    return;
                }

                await WriteJsonAsync(context, StatusCodes.Status200OK, Dto(device, now)).ConfigureAwait(false);
                return;
            case ("POST", ["devices", var id, var action]) when Sha256(id) is { } sha256:
                var result = await ActAsync(context, sha256, action, AdminEndpoints.Actor(context)).ConfigureAwait(false);
                if (result is null)
                {
                    await WriteJsonAsync(context, StatusCodes.Status404NotFound, new { error = "unknown action (block, unblock, revoke)" }).ConfigureAwait(false);
                    return;
                }

                Log.AdminAction(logger, AdminEndpoints.Actor(context), action + (result.Ok ? "" : " (refused)"), sha256);
                await WriteJsonAsync(context, result.Ok ? StatusCodes.Status200OK : StatusCodes.Status409Conflict,
                    new { sha256, ok = result.Ok, status = result.Status is { } s ? Name(s) : null, message = result.Message, crlResigned = result.CrlResigned }).ConfigureAwait(false);
                return;
            case ("POST", ["enrollments"]):
                await EnrollAsync(context, logger).ConfigureAwait(false);
                return;
            default:
                await notFound(context).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>Block, unblock, revoke (<see cref="DeviceActions"/>: the store, this process's block list, the CRL); null for an unknown action.</summary>
    public static async Task<DeviceActionResult?> ActAsync(HttpContext context, string sha256, string action, string actor)
    {
        var actions = context.RequestServices.GetRequiredService<DeviceActions>();
        return action switch
        {
            "block" => await actions.BlockAsync(sha256, actor, context.RequestAborted).ConfigureAwait(false),
            "unblock" => await actions.UnblockAsync(sha256, actor, context.RequestAborted).ConfigureAwait(false),
            "revoke" => await actions.RevokeAsync(sha256, actor, context.RequestAborted).ConfigureAwait(false),
            _ => null,
        };
    }

    private static async Task EnrollAsync(HttpContext context, ILogger logger)
    {
        var enrollments = EnrollmentEndpoint.EnrollmentsOf(context.RequestServices);
        if (enrollments?.Unavailable is not null || enrollments is null)
        {
            await WriteJsonAsync(context, StatusCodes.Status409Conflict, new { error = enrollments?.Unavailable ?? "enrolment is not running in this process" }).ConfigureAwait(false);
            return;
        }

        EnrollmentRequest? body = null;
        if (context.Request.ContentLength is > 0 and <= MaxBodyBytes)
        {
            try
            {
                body = await JsonSerializer.DeserializeAsync<EnrollmentRequest>(context.Request.Body, AdminJson.Options, context.RequestAborted).ConfigureAwait(false);
            }
            catch (JsonException)
            {
                body = null;
            }
        }

        if (body is null || !Enrollments.IsValidName(body.Name))
        {
            await WriteJsonAsync(context, StatusCodes.Status400BadRequest, new { error = "expected {\"name\": \"…\"} (1-64 characters of letters, digits, '-', '_', '.', '@'), optionally \"compatible\": true" }).ConfigureAwait(false);
            return;
        }

        var ticket = await enrollments.CreateAsync(body.Name!, body.Compatible, context.RequestAborted).ConfigureAwait(false);
        Log.EnrollmentCreated(logger, AdminEndpoints.Actor(context), Text.HeaderEncoding.Encode(ticket.Name), ticket.Sha256, ticket.ExpiresAt);
        await WriteJsonAsync(context, StatusCodes.Status200OK, new { url = ticket.Url.AbsoluteUri, password = ticket.Password, expiresAt = ticket.ExpiresAt, sha256 = ticket.Sha256 }).ConfigureAwait(false);
    }

    /// <summary>A fingerprint from a URL segment: 64 hex digits (any case), returned lower-case; else null.</summary>
    public static string? Sha256(string text) =>
        text.Length == 64 && text.All(char.IsAsciiHexDigit) ? text.ToLowerInvariant() : null;

    public static string Name(DeviceStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>The API's device object (ARCHITECTURE.md), plus what the page also shows.</summary>
    private static object Dto(DeviceRecord d, DateTimeOffset now) => new
    {
        sha256 = d.Sha256,
        subject = d.Subject,
        issuer = d.Issuer,
        notAfter = d.NotAfter,
        firstSeen = d.FirstSeen,
        lastSeen = d.LastSeen,
        lastAddress = d.LastAddress,
        allowed = d.Allowed,
        denied = d.Denied,
        lastDenyReason = d.LastDenyReason,
        status = Name(d.Status),
        label = d.Label,
        serial = d.Serial,
        daysLeft = Policy.CertificateExpiry.DaysLeft(d.NotAfter, now),
        enrolledAt = d.EnrolledAt,
    };

    public static async Task WriteJsonAsync<T>(HttpContext context, int status, T value)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, AdminJson.Options);
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private sealed record EnrollmentRequest(string? Name, bool Compatible);
}
