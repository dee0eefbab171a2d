using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtlsGate.Configuration;
using MtlsGate.Devices;
using MtlsGate.Logging;

namespace MtlsGate.Management;

/// <summary>
/// <c>/admin</c> on the management listener: the device page (server-rendered, <see cref="AdminHtml"/>)
/// and its JSON API for scripts (<c>/admin/api/…</c>, ARCHITECTURE.md). Who may use it: a loopback
/// connection (client and listener address both loopback) on a plain-HTTP listener, or any connection
/// of an <c>https://</c> listener (its handshake admitted only admin certificates, <see cref="AdminTls"/>).
/// Anyone else gets the management listener's plain 404. Every state change is a POST that passes
/// <see cref="AdminCsrf"/>.
/// </summary>
public static class AdminEndpoints
{
    public const string Root = "/admin";
    private const string Api = "/admin/api/";
    private const int MaxFormBytes = 16 * 1024;

    /// <summary>The page's response headers: nothing external, no inline script or style, never framed, never cached, no referrer to other sites.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static bool IsAdminPath(string? path) =>
        path is not null && (path == Root || path.StartsWith(Root + "/", StringComparison.Ordinal));

    /// <summary>True when this connection may use the admin page (see the class summary).</summary>
    public static bool MayAdminister(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<AdminConnectionFeature>() is not null)
        {
            return true;
        }

        var snapshot = context.RequestServices.GetRequiredService<GatewayState>().Current;
        var connection = context.Connection;
        return !snapshot.Management.IsTls
            && connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote)
            && connection.LocalIpAddress is { } local && IPAddress.IsLoopback(local);
    }

    /// <summary>Who did it, for the device history: the admin certificate's subject, or "local" (loopback).</summary>
    public static string Actor(HttpContext context) =>
        context.Features.Get<AdminConnectionFeature>() is { } admin ? $"{admin.Subject} (sha256 {admin.Sha256[..16]}…)" : DeviceActions.LoopbackActor;

    public static async Task HandleAsync(HttpContext context, Func<HttpContext, Task> notFound)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(notFound);
        if (!MayAdminister(context))
        {
            await notFound(context).ConfigureAwait(false);
            return;
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        // Not no-referrer: with it, browsers send "Origin: null" on POST (Fetch standard, "serializing a request origin"), which the CSRF check refuses.
        headers["Referrer-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";

        var path = context.Request.Path.Value!;
        var method = context.Request.Method;
        var services = context.RequestServices;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("MtlsGate.Admin");
        try
        {
            if (path.StartsWith("/admin/assets/", StringComparison.Ordinal) && HttpMethods.IsGet(method))
            {
                await AdminAssets.WriteAsync(context, path["/admin/assets/".Length..], notFound).ConfigureAwait(false);
            }
            else if (path.StartsWith(Api, StringComparison.Ordinal))
            {
                await AdminApi.HandleAsync(context, path[Api.Length..], logger, notFound).ConfigureAwait(false);
            }
            else if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
            {
                await PageAsync(context, path, notFound).ConfigureAwait(false);
            }
            else if (HttpMethods.IsPost(method))
            {
                await FormAsync(context, path, logger, notFound).ConfigureAwait(false);
            }
            else
            {
                await notFound(context).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !context.Response.HasStarted && IsStoreFailure(ex))
        {
            Log.AdminStoreError(logger, ex.GetType().Name);
            if (path.StartsWith(Api, StringComparison.Ordinal))
            {
                await AdminApi.WriteJsonAsync(context, StatusCodes.Status503ServiceUnavailable, new { error = "the device store did not answer; try again" }).ConfigureAwait(false);
                return;
            }

            await AdminHtml.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, AdminHtml.Message("Device store unavailable",
                "The device store did not answer. Requests keep being decided with the last loaded block list; try again in a moment.")).ConfigureAwait(false);
        }
    }

    /// <summary>Failures of the store (SQLite, PostgreSQL, I/O), not programming errors.</summary>
    internal static bool IsStoreFailure(Exception ex) =>
        ex is System.Data.Common.DbException or IOException or TimeoutException or InvalidOperationException;

    private static async Task PageAsync(HttpContext context, string path, Func<HttpContext, Task> notFound)
    {
        var services = context.RequestServices;
        var store = services.GetService<IDeviceStore>();
        var csrf = services.GetRequiredService<AdminCsrf>();
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        if (path is Root or "/admin/")
        {
            if (store is null)
            {
                await AdminHtml.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, AdminHtml.Message("No device store", "The device inventory is not running in this process.")).ConfigureAwait(false);
                return;
            }

            var query = AdminQuery.From(context.Request.Query, now);
            var devices = await store.ListAsync(query.Device, context.RequestAborted).ConfigureAwait(false);
            var total = await store.CountAsync(query.Device with { Offset = 0, Limit = int.MaxValue }, context.RequestAborted).ConfigureAwait(false);
            var hourly = await store.HourlyAsync(AdminHtml.ChartStart(now), context.RequestAborted).ConfigureAwait(false);
            await AdminHtml.WriteAsync(context, StatusCodes.Status200OK, AdminHtml.List(query, devices, total, hourly, now)).ConfigureAwait(false);
        }
        else if (path == "/admin/enroll")
        {
            var enrollments = EnrollmentEndpoint.EnrollmentsOf(services);
            await AdminHtml.WriteAsync(context, StatusCodes.Status200OK, AdminHtml.EnrollForm(csrf.Token, enrollments?.Unavailable ?? (enrollments is null ? "Enrolment is not running in this process." : null))).ConfigureAwait(false);
        }
        else if (path.StartsWith("/admin/devices/", StringComparison.Ordinal) && AdminApi.Sha256(path["/admin/devices/".Length..]) is { } sha256 && store is not null)
        {
            var device = await store.GetAsync(sha256, context.RequestAborted).ConfigureAwait(false);
            if (device is null)
            {
                await notFound(context).ConfigureAwait(false);
                return;
            }

            var history = await store.HistoryAsync(sha256, 50, context.RequestAborted).ConfigureAwait(false);
            await AdminHtml.WriteAsync(context, StatusCodes.Status200OK, AdminHtml.Device(device, history, csrf.Token, now, context.Request.Query["done"].ToString())).ConfigureAwait(false);
        }
        else
        {
            await notFound(context).ConfigureAwait(false);
        }
    }

    private static async Task FormAsync(HttpContext context, string path, ILogger logger, Func<HttpContext, Task> notFound)
    {
        var request = context.Request;
        if (!request.HasFormContentType || request.ContentLength is null or > MaxFormBytes)
        {
            await RefuseAsync(context, logger, "not a small form post", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }

        var form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var services = context.RequestServices;
        if (services.GetRequiredService<AdminCsrf>().CheckForm(request, form) is { } problem)
        {
            await RefuseAsync(context, logger, problem, StatusCodes.Status403Forbidden).ConfigureAwait(false);
            return;
        }

        var actor = Actor(context);
        if (path == "/admin/enroll")
        {
            var enrollments = EnrollmentEndpoint.EnrollmentsOf(services);
            var name = form["name"].ToString().Trim();
            if (enrollments is null || enrollments.Unavailable is not null)
            {
                await AdminHtml.WriteAsync(context, StatusCodes.Status409Conflict, AdminHtml.EnrollForm(services.GetRequiredService<AdminCsrf>().Token, enrollments?.Unavailable ?? "Enrolment is not running in this process.")).ConfigureAwait(false);
                return;
            }

            if (!Enrollments.IsValidName(name))
            {
                await AdminHtml.WriteAsync(context, StatusCodes.Status400BadRequest, AdminHtml.EnrollForm(services.GetRequiredService<AdminCsrf>().Token, null, "The name must be 1-64 characters of letters, digits, '-', '_', '.', '@'.")).ConfigureAwait(false);
                return;
            }

            var ticket = await enrollments.CreateAsync(name, form["compatible"].ToString() == "on", context.RequestAborted).ConfigureAwait(false);
            Log.EnrollmentCreated(logger, actor, Text.HeaderEncoding.Encode(name), ticket.Sha256, ticket.ExpiresAt);
            await AdminHtml.WriteAsync(context, StatusCodes.Status200OK, AdminHtml.EnrollResult(ticket, EnrollmentQr.Png(ticket.Url))).ConfigureAwait(false);
            return;
        }

        // /admin/devices/{sha256}/{action}
        var parts = path.Split('/');
        if (parts.Length != 5 || parts[2] != "devices" || AdminApi.Sha256(parts[3]) is not { } sha256)
        {
            await notFound(context).ConfigureAwait(false);
            return;
        }

        var result = parts[4] == "label"
            ? await services.GetRequiredService<DeviceActions>().SetLabelAsync(sha256, form["label"].ToString().Trim() is { Length: > 0 } label ? label : null, actor, context.RequestAborted).ConfigureAwait(false)
            : await AdminApi.ActAsync(context, sha256, parts[4], actor).ConfigureAwait(false);
        if (result is null)
        {
            await notFound(context).ConfigureAwait(false);
            return;
        }

        Log.AdminAction(logger, actor, parts[4] + (result.Ok ? "" : " (refused)"), sha256);
        if (!result.Ok)
        {
            await AdminHtml.WriteAsync(context, StatusCodes.Status409Conflict, AdminHtml.Message("Not done", result.Message, $"/admin/devices/{sha256}")).ConfigureAwait(false);
            return;
        }

        // Post/Redirect/Get: the detail page again (with a fixed note of what was done), so a reload does not post twice.
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = $"/admin/devices/{sha256}?done={parts[4]}";
    }

    internal static async Task RefuseAsync(HttpContext context, ILogger logger, string problem, int status)
    {
        Log.AdminRequestRefused(logger, problem, context.Request.Method, Text.HeaderEncoding.Encode(context.Request.Path.Value ?? ""), status);
        await AdminHtml.WriteAsync(context, status, AdminHtml.Message("Refused", $"This request was refused: {problem}. Use the buttons of the admin page.")).ConfigureAwait(false);
    }
}

/// <summary>The list page's query string: status filter, "expires within N days", sort column and order, page.</summary>
public sealed record AdminQuery(DeviceQuery Device, string? Status, int? ExpiresWithinDays, string Sort, bool Descending, int Page)
{
    public const int PageSize = 100;

    /// <summary>Sortable columns (DeviceRecord names the store understands).</summary>
    public static readonly IReadOnlyList<string> Columns = ["subject", "status", "notAfter", "lastSeen", "lastAddress", "allowed", "denied", "label"];

    public static AdminQuery From(IQueryCollection query, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(query);
        var statusText = query["status"].ToString();
        DeviceStatus? status = Enum.TryParse<DeviceStatus>(statusText, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(statusText, out _) ? parsed : null;
        int? expires = int.TryParse(query["expires"], NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days <= 36500 ? days : null;
        var sort = Columns.FirstOrDefault(c => string.Equals(c, query["sort"], StringComparison.OrdinalIgnoreCase)) ?? "lastSeen";
        var descending = query["order"].ToString() != "asc";
        var page = int.TryParse(query["page"], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 100_000 ? p : 1;
        return new AdminQuery(new DeviceQuery(status, expires, now, sort, descending, (page - 1) * PageSize, PageSize),
            status?.ToString().ToLowerInvariant(), expires, sort, descending, page);
    }

    /// <summary>This query's link with some values changed (HTML-encoded by the caller).</summary>
    public string Link(string? sort = null, bool? descending = null, int? page = null)
    {
        var parts = new List<string>();
        if (Status is not null)
        {
            parts.Add("status=" + Status);
        }

        if (ExpiresWithinDays is { } days)
        {
            parts.Add("expires=" + days.ToString(CultureInfo.InvariantCulture));
        }

        parts.Add("sort=" + (sort ?? Sort));
        parts.Add("order=" + ((descending ?? Descending) ? "desc" : "asc"));
        parts.Add("page=" + (page ?? Page).ToString(CultureInfo.InvariantCulture));
        return AdminEndpoints.Root + "?" + string.Join('&', parts);
    }
}

/// <summary>JSON for the API (camelCase, ISO 8601 instants).</summary>
internal static class AdminJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
