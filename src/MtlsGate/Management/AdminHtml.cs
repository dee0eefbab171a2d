using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;
using MtlsGate.Devices;
using MtlsGate.Policy;

namespace MtlsGate.Management;

/// <summary>
/// The admin page's HTML, rendered on the server. Every value that came from a certificate, a client
/// or the store goes through <see cref="H"/> (HTML encoding) or is a number or an instant we format;
/// no inline script or style (the CSP forbids them), no external resource.
/// </summary>
internal static class AdminHtml
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string H(string? text) => Encoder.Encode(text ?? "");

    public static Task WriteAsync(HttpContext context, int status, string html)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        var bytes = Encoding.UTF8.GetBytes(html);
        response.ContentLength = bytes.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }

    private static string Page(string title, string body, int? refreshSeconds = null) => $"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{H(title)} · MtlsGate</title>
        <link rel="stylesheet" href="/admin/assets/admin.css">
        <script src="/admin/assets/admin.js" defer></script>
        </head>
        <body{(refreshSeconds is { } s ? $" data-refresh=\"{s.ToString(Invariant)}\"" : "")}>
        <header><a class="brand" href="/admin">MtlsGate · devices</a><nav><a href="/admin">Devices</a><a href="/admin/enroll">Add device</a></nav></header>
        <main>
        {body}
        </main>
        </body>
        </html>
        """;

    public static string Message(string title, string text, string back = "/admin") => Page(title, $"<h1>{H(title)}</h1><p>{H(text)}</p><p><a href=\"{H(back)}\">Back</a></p>");

    public static DateTimeOffset ChartStart(DateTimeOffset now) =>
        new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(-23);

    public static string List(AdminQuery query, IReadOnlyList<DeviceRecord> devices, int total, IReadOnlyList<HourlyCounts> hourly, DateTimeOffset now)
    {
        var b = new StringBuilder();
        b.Append("<h1>Devices</h1>");
        b.Append(Chart(hourly, now));
        b.Append("<form class=\"filters\" method=\"get\" action=\"/admin\"><label>Status <select name=\"status\"><option value=\"\">all</option>");
        foreach (var status in Enum.GetValues<DeviceStatus>())
        {
            var name = AdminApi.Name(status);
            b.Append(CultureInfo.InvariantCulture, $"<option value=\"{name}\"{(query.Status == name ? " selected" : "")}>{name}</option>");
        }

        b.Append(CultureInfo.InvariantCulture, $"</select></label> <label>Expires within <input type=\"number\" name=\"expires\" min=\"0\" max=\"36500\" value=\"{query.ExpiresWithinDays?.ToString(Invariant) ?? ""}\" placeholder=\"any\"> days</label>");
        b.Append(CultureInfo.InvariantCulture, $"<input type=\"hidden\" name=\"sort\" value=\"{H(query.Sort)}\"><input type=\"hidden\" name=\"order\" value=\"{(query.Descending ? "desc" : "asc")}\"> <button type=\"submit\">Filter</button>");
        b.Append(" <a href=\"/admin?expires=30\">expiring in 30 days</a> · <a href=\"/admin?expires=7\">7</a> · <a href=\"/admin?expires=1\">1</a> · <a href=\"/admin?status=blocked\">blocked</a></form>");
        b.Append(CultureInfo.InvariantCulture, $"<p class=\"count\">{total.ToString(Invariant)} device(s){(total == 0 ? ": none has connected yet. Devices appear here after their first request through the gateway." : "")}</p>");
        b.Append("<table class=\"devices\"><thead><tr>");
        foreach (var (column, title) in new[] { ("subject", "Device"), ("status", "Status"), ("notAfter", "Expires"), ("lastSeen", "Last seen"), ("lastAddress", "From"), ("allowed", "Allowed"), ("denied", "Denied"), ("label", "Label") })
        {
            var active = query.Sort == column;
            var next = active ? !query.Descending : column is "lastSeen" or "allowed" or "denied";
            var arrow = active ? (query.Descending ? " ▼" : " ▲") : "";
            b.Append(CultureInfo.InvariantCulture, $"<th{(active ? $" aria-sort=\"{(query.Descending ? "descending" : "ascending")}\"" : "")}><a href=\"{H(query.Link(column, next, 1))}\">{title}{arrow}</a></th>");
        }

        b.Append("<th>Last denial</th></tr></thead><tbody>");
        foreach (var d in devices)
        {
            b.Append(CultureInfo.InvariantCulture, $"<tr data-sha256=\"{H(d.Sha256)}\"><td><a href=\"/admin/devices/{H(d.Sha256)}\">{H(Subject(d))}</a><br><code class=\"fp\">{H(d.Sha256[..Math.Min(16, d.Sha256.Length)])}…</code></td>");
            b.Append(CultureInfo.InvariantCulture, $"<td>{StatusBadge(d.Status)}{(d.EnrolledAt is not null ? " <span class=\"badge enrolled\">enrolled</span>" : "")}</td><td>{ExpiryBadge(d.NotAfter, now)}</td>");
            b.Append(CultureInfo.InvariantCulture, $"<td>{Instant(d.LastSeen)}</td><td>{H(d.LastAddress)}{(d.LastCountry is { } c ? $" ({H(c)})" : "")}</td>");
            b.Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{d.Allowed.ToString(Invariant)}</td><td class=\"num\">{d.Denied.ToString(Invariant)}</td><td>{H(d.Label)}</td><td>{H(d.LastDenyReason)}</td></tr>");
        }

        b.Append("</tbody></table>");
        var pages = Math.Max(1, (total + AdminQuery.PageSize - 1) / AdminQuery.PageSize);
        if (pages > 1)
        {
            b.Append("<p class=\"pages\">");
            if (query.Page > 1)
            {
                b.Append(CultureInfo.InvariantCulture, $"<a href=\"{H(query.Link(page: query.Page - 1))}\">← previous</a> ");
            }

            b.Append(CultureInfo.InvariantCulture, $"page {query.Page.ToString(Invariant)} of {pages.ToString(Invariant)}");
            if (query.Page < pages)
            {
                b.Append(CultureInfo.InvariantCulture, $" <a href=\"{H(query.Link(page: query.Page + 1))}\">next →</a>");
            }

            b.Append("</p>");
        }

        return Page("Devices", b.ToString(), refreshSeconds: 5);
    }

    public static string Device(DeviceRecord d, IReadOnlyList<DeviceEvent> history, string csrf, DateTimeOffset now, string done = "")
    {
        var b = new StringBuilder();
        var note = done switch
        {
            "block" => "Blocked: refused from its next request on, on open connections too.",
            "unblock" => "Unblocked: let in again from its next request on.",
            "revoke" => "Revoked for good.",
            "label" => "Label saved.",
            _ => null,
        };
        if (note is not null)
        {
            b.Append(CultureInfo.InvariantCulture, $"<p class=\"note\" role=\"status\">{H(note)}</p>");
        }

        b.Append(CultureInfo.InvariantCulture, $"<h1>{H(Subject(d))} {StatusBadge(d.Status)}</h1><dl class=\"device\">");
        Row(b, "SHA-256", $"<code>{H(d.Sha256)}</code>");
        Row(b, "Subject", H(d.Subject));
        Row(b, "Issuer", H(d.Issuer));
        Row(b, "Serial", $"<code>{H(d.Serial)}</code>");
        Row(b, "Expires", $"{Instant(d.NotAfter)} {ExpiryBadge(d.NotAfter, now)}");
        Row(b, "First seen", Instant(d.FirstSeen));
        Row(b, "Last seen", Instant(d.LastSeen));
        Row(b, "Last address", H(d.LastAddress) + (d.LastCountry is { } c ? $" ({H(c)})" : ""));
        Row(b, "Last User-Agent", H(d.LastUserAgent));
        Row(b, "Requests", $"{d.Allowed.ToString(Invariant)} allowed, {d.Denied.ToString(Invariant)} denied{(d.LastDenyReason is { } r ? $" (last denial: {H(r)})" : "")}");
        Row(b, "Seen through", H(d.Source));
        Row(b, "Enrolled", d.EnrolledAt is { } e ? $"<span class=\"badge enrolled\">enrolled</span> {Instant(e)}" : "not by link");
        Row(b, "Label", H(d.Label));
        b.Append("</dl><section class=\"actions\"><h2>Actions</h2>");
        var action = $"/admin/devices/{H(d.Sha256)}";
        if (d.Status == DeviceStatus.Blocked)
        {
            b.Append(Button(action + "/unblock", csrf, "Unblock", "The device is let in again at its next request."));
        }
        else if (d.Status != DeviceStatus.Revoked)
        {
            b.Append(Button(action + "/block", csrf, "Block", "Refused from its next request on, on open connections too; reversible."));
        }

        if (d.Status != DeviceStatus.Revoked)
        {
            b.Append(Button(action + "/revoke", csrf, "Revoke", "Permanent: the certificate is refused for good (and put on the CRL when the CA key is configured).", "danger", confirm: true));
        }

        b.Append(CultureInfo.InvariantCulture, $"<form method=\"post\" action=\"{action}/label\" class=\"label\"><input type=\"hidden\" name=\"{AdminCsrf.FieldName}\" value=\"{H(csrf)}\"><label>Label <input type=\"text\" name=\"label\" maxlength=\"100\" value=\"{H(d.Label)}\"></label> <button type=\"submit\">Save label</button></form>");
        b.Append("</section><section><h2>History</h2>");
        if (history.Count == 0)
        {
            b.Append("<p>No status changes, labels or enrolment recorded.</p>");
        }
        else
        {
            b.Append("<table class=\"history\"><thead><tr><th>When</th><th>What</th><th>Who</th><th>Detail</th></tr></thead><tbody>");
            foreach (var h in history)
            {
                b.Append(CultureInfo.InvariantCulture, $"<tr><td>{Instant(h.At)}</td><td>{H(h.Kind)}</td><td>{H(h.Actor)}</td><td>{H(h.Detail)}</td></tr>");
            }

            b.Append("</tbody></table>");
        }

        b.Append("</section>");
        return Page(Subject(d), b.ToString());
    }

    public static string EnrollForm(string csrf, string? unavailable, string? error = null)
    {
        var b = new StringBuilder("<h1>Add a device</h1>");
        if (unavailable is not null)
        {
            b.Append(CultureInfo.InvariantCulture, $"<p class=\"error\">{H(unavailable)}</p>");
            return Page("Add a device", b.ToString());
        }

        b.Append("<p>Issues a client certificate and a one-time link to it, shown as a QR code: scan it with the phone within 15 minutes, open the downloaded file and type the password shown here.</p>");
        if (error is not null)
        {
            b.Append(CultureInfo.InvariantCulture, $"<p class=\"error\">{H(error)}</p>");
        }

        b.Append(CultureInfo.InvariantCulture, $"""
            <form method="post" action="/admin/enroll" class="enroll">
            <input type="hidden" name="{AdminCsrf.FieldName}" value="{H(csrf)}">
            <label>Device name <input type="text" name="name" required maxlength="64" pattern="[A-Za-z0-9._@\-]+" placeholder="alice-phone"></label>
            <label><input type="checkbox" name="compatible"> Compatible encryption (3DES/SHA-1) for older Android and iOS importers</label>
            <button type="submit">Create enrolment link</button>
            </form>
            """);
        return Page("Add a device", b.ToString());
    }

    public static string EnrollResult(EnrollmentTicket ticket, byte[] qrPng)
    {
        var body = $"""
            <h1>Enrol {H(ticket.Name)}</h1>
            <div class="enrolment">
            <img class="qr" alt="QR code of the enrolment link" src="data:image/png;base64,{Convert.ToBase64String(qrPng)}">
            <div>
            <p>Scan this with the phone's camera (or open the link on it). The link works <strong>once</strong>, until {Instant(ticket.ExpiresAt)}.</p>
            <p>Link: <code class="link">{H(ticket.Url.AbsoluteUri)}</code></p>
            <p>Password of the .p12 (shown only here, never in the link): <code class="password">{H(ticket.Password)}</code></p>
            <p>Status: <span class="enrol-status" data-enrolled-poll="{H(ticket.Sha256)}">waiting for the device's first connection…</span></p>
            <p><a href="/admin/devices/{H(ticket.Sha256)}">Device page</a> (exists once it has connected)</p>
            </div>
            </div>
            """;
        return Page("Enrol " + ticket.Name, body);
    }

    /// <summary>Allowed vs denied requests per hour over the last 24 hours, as inline SVG (no script, no external resource).</summary>
    public static string Chart(IReadOnlyList<HourlyCounts> hourly, DateTimeOffset now)
    {
        const int Width = 720, Height = 120, Slot = Width / 24, Bar = (Slot - 6) / 2;
        var start = ChartStart(now);
        var slots = new (long Allowed, long Denied)[24];
        foreach (var h in hourly)
        {
            var index = (int)Math.Floor((h.Hour - start).TotalHours);
            if (index is >= 0 and < 24)
            {
                slots[index] = (slots[index].Allowed + h.Allowed, slots[index].Denied + h.Denied);
            }
        }

        var max = Math.Max(1, slots.Max(s => Math.Max(s.Allowed, s.Denied)));
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height + 16}\" width=\"{Width}\" height=\"{Height + 16}\" role=\"img\" aria-label=\"Allowed and denied requests per hour, last 24 hours\">");
        for (var i = 0; i < 24; i++)
        {
            var (allowed, denied) = slots[i];
            var x = i * Slot + 3;
            var ha = (int)Math.Round(allowed * (double)Height / max);
            var hd = (int)Math.Round(denied * (double)Height / max);
            var hour = start.AddHours(i);
            b.Append(CultureInfo.InvariantCulture, $"<g><title>{hour:HH}:00 UTC: {allowed} allowed, {denied} denied</title>");
            b.Append(CultureInfo.InvariantCulture, $"<rect class=\"allowed\" x=\"{x}\" y=\"{Height - ha}\" width=\"{Bar}\" height=\"{ha}\" fill=\"#2e7d32\"/>");
            b.Append(CultureInfo.InvariantCulture, $"<rect class=\"denied\" x=\"{x + Bar}\" y=\"{Height - hd}\" width=\"{Bar}\" height=\"{hd}\" fill=\"#c62828\"/></g>");
            if (i % 6 == 0)
            {
                b.Append(CultureInfo.InvariantCulture, $"<text x=\"{x}\" y=\"{Height + 13}\" font-size=\"11\" fill=\"#555\">{hour:HH}:00</text>");
            }
        }

        var totalAllowed = slots.Sum(s => s.Allowed);
        var totalDenied = slots.Sum(s => s.Denied);
        b.Append(CultureInfo.InvariantCulture, $"</svg><figcaption><span class=\"key allowed\">■</span> {totalAllowed} allowed <span class=\"key denied\">■</span> {totalDenied} denied in the last 24 hours (UTC, per hour; counts are written in batches every few seconds)</figcaption></figure>");
        return b.ToString();
    }

    private static string Button(string action, string csrf, string label, string help, string cssClass = "", bool confirm = false) =>
        $"<form method=\"post\" action=\"{action}\" class=\"action\"><input type=\"hidden\" name=\"{AdminCsrf.FieldName}\" value=\"{H(csrf)}\"><button type=\"submit\" class=\"{cssClass}\"{(confirm ? " data-confirm=\"Revoke for good? This cannot be undone.\"" : "")}>{H(label)}</button> <span class=\"help\">{H(help)}</span></form>";

    private static void Row(StringBuilder b, string name, string html) => b.Append(CultureInfo.InvariantCulture, $"<dt>{H(name)}</dt><dd>{html}</dd>");

    private static string Subject(DeviceRecord d) => d.Label is { Length: > 0 } label ? $"{label} ({d.Subject})" : d.Subject;

    private static string Instant(DateTimeOffset at) =>
        $"<time datetime=\"{at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", Invariant)}\">{at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", Invariant)} UTC</time>";

    public static string StatusBadge(DeviceStatus status)
    {
        var name = AdminApi.Name(status);
        return $"<span class=\"badge status-{name}\">{name}</span>";
    }

    /// <summary>Days left as a badge: expired, ≤1, ≤7, ≤30 (the expiry thresholds) or fine.</summary>
    public static string ExpiryBadge(DateTimeOffset notAfter, DateTimeOffset now)
    {
        var days = CertificateExpiry.DaysLeft(notAfter, now);
        var (css, text) = days switch
        {
            < 0 => ("expired", "expired"),
            <= 1 => ("d1", days == 1 ? "1 day" : "today"),
            <= 7 => ("d7", $"{days.ToString(Invariant)} days"),
            <= 30 => ("d30", $"{days.ToString(Invariant)} days"),
            _ => ("ok", $"{days.ToString(Invariant)} days"),
        };
        return $"<span class=\"badge expiry-{css}\" title=\"{notAfter.UtcDateTime.ToString("yyyy-MM-dd HH:mm", Invariant)} UTC\">{text}</span>";
    }
}
