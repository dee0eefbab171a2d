using System.Text;
using Microsoft.AspNetCore.Http;

namespace MtlsGate.Management;

/// <summary>
/// The page's only script and style sheet, served from the gateway itself (the CSP allows <c>'self'</c>
/// and nothing else). The script is progressive: the page works without it (links sort, forms post);
/// it only refreshes the list, asks before a revoke, and shows "enrolled" without a reload.
/// </summary>
internal static class AdminAssets
{
    private static readonly byte[] Css = Encoding.UTF8.GetBytes("""
        :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #fafafa; }
        body { margin: 0; }
        header { display: flex; gap: 2em; align-items: center; padding: .6em 1.2em; background: #263238; }
        header a { color: #fff; text-decoration: none; margin-right: 1.2em; }
        header .brand { font-weight: 600; }
        main { padding: 1em 1.2em; max-width: 80em; }
        h1 { font-size: 1.4em; margin: .3em 0 .6em; }
        h2 { font-size: 1.1em; margin-top: 1.4em; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #e0e0e0; vertical-align: top; font-size: .92em; }
        th a { color: inherit; text-decoration: none; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; word-break: break-all; }
        code.fp { color: #607d8b; font-size: .8em; }
        .badge { display: inline-block; padding: .05em .5em; border-radius: .8em; font-size: .8em; font-weight: 600; background: #e0e0e0; }
        .status-active { background: #c8e6c9; color: #1b5e20; }
        .status-blocked { background: #ffcdd2; color: #b71c1c; }
        .status-revoked { background: #424242; color: #fff; }
        .status-expired { background: #ffe0b2; color: #e65100; }
        .expiry-ok { background: #e8f5e9; color: #2e7d32; }
        .expiry-d30 { background: #fff9c4; color: #827717; }
        .expiry-d7 { background: #ffe0b2; color: #e65100; }
        .expiry-d1, .expiry-expired { background: #ffcdd2; color: #b71c1c; }
        .enrolled { background: #bbdefb; color: #0d47a1; }
        .filters { margin: .8em 0; }
        .filters input[type=number] { width: 5em; }
        .count { color: #555; }
        dl.device { display: grid; grid-template-columns: 10em 1fr; gap: .3em 1em; background: #fff; padding: 1em; }
        dl.device dt { color: #555; }
        dl.device dd { margin: 0; }
        form.action, form.label { margin: .5em 0; }
        .help { color: #666; font-size: .85em; }
        button { font: inherit; padding: .3em .9em; border-radius: .3em; border: 1px solid #90a4ae; background: #eceff1; cursor: pointer; }
        button.danger { border-color: #b71c1c; color: #b71c1c; }
        .error { color: #b71c1c; }
        .note { background: #e3f2fd; padding: .4em .8em; border-radius: .3em; }
        form.enroll label { display: block; margin: .6em 0; }
        .enrolment { display: flex; gap: 2em; align-items: flex-start; flex-wrap: wrap; }
        img.qr { width: 296px; height: 296px; image-rendering: pixelated; background: #fff; }
        code.password { font-size: 1.3em; background: #fff3e0; padding: .1em .4em; }
        .enrol-status.done { color: #0d47a1; font-weight: 600; }
        figure.chart { margin: 0 0 1em; }
        figcaption { color: #555; font-size: .85em; }
        .key.allowed { color: #2e7d32; } .key.denied { color: #c62828; }
        """);

    private static readonly byte[] Script = Encoding.UTF8.GetBytes("""
        "use strict";
        // Progressive: the page works without this file.
        document.addEventListener("DOMContentLoaded", () => {
          // The device list refreshes itself, unless the admin is typing in the filter form.
          const refresh = Number(document.body.dataset.refresh || 0);
          if (refresh > 0) {
            setInterval(() => {
              const focused = document.activeElement;
              if (!focused || !["INPUT", "SELECT", "TEXTAREA"].includes(focused.tagName)) {
                location.reload();
              }
            }, refresh * 1000);
          }
          // Ask before a permanent action.
          for (const button of document.querySelectorAll("button[data-confirm]")) {
            button.addEventListener("click", event => {
              if (!confirm(button.dataset.confirm)) {
                event.preventDefault();
              }
            });
          }
          // After "add device": show "enrolled" once the device has connected with its certificate.
          for (const status of document.querySelectorAll("[data-enrolled-poll]")) {
            const url = "/admin/api/devices/" + encodeURIComponent(status.dataset.enrolledPoll);
            const timer = setInterval(async () => {
              try {
                const response = await fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" });
                if (response.ok) {
                  const device = await response.json();
                  if (device.enrolledAt) {
                    status.textContent = "enrolled: first connection at " + device.enrolledAt;
                    status.classList.add("done");
                    clearInterval(timer);
                  }
                }
              } catch (e) {
                // Try again at the next tick.
              }
            }, 2000);
          }
        });
        """);

    public static Task WriteAsync(HttpContext context, string name, Func<HttpContext, Task> notFound)
    {
        var (body, type) = name switch
        {
            "admin.css" => (Css, "text/css; charset=utf-8"),
            "admin.js" => (Script, "text/javascript; charset=utf-8"),
            _ => (null, ""),
        };
        if (body is null)
        {
            return notFound(context);
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = type;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
