using System.Globalization;
using System.Net;
using System.Text;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>GET /stats: the report as one HTML page of tables. Every name from the config is HTML-escaped.</summary>
internal static class StatsHtml
{
    private const string Style =
        "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse;margin-bottom:1.5em}" +
        "th,td{border:1px solid #999;padding:2px 6px;text-align:right}th{background:#ddd}td.name{text-align:left}" +
        "td.UP{background:#9e9}td.DOWN{background:#e99}";

    public static byte[] Write(StatsReport report)
    {
        var html = new StringBuilder(8192);
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>fastsock-proxy stats</title><style>")
            .Append(Style).Append("</style></head><body><h1>fastsock-proxy</h1>");

        html.Append("<h2>Frontends</h2><table id=\"frontends\"><tr><th>frontend</th><th>mode</th><th>backend</th>");
        SessionHeaders(html);
        html.Append("</tr>");
        foreach (var f in report.Frontends)
        {
            html.Append("<tr>");
            Name(html, f.Name);
            Name(html, f.Mode);
            Name(html, f.Backend);
            SessionCells(html, f.Totals);
            html.Append("</tr>");
        }

        html.Append("</table>");
        foreach (var b in report.Backends)
        {
            html.Append("<h2>Backend ").Append(Escape(b.Name)).Append(" (").Append(Escape(b.Balance)).Append(", ")
                .Append(b.ServersUp).Append('/').Append(b.Servers.Count).Append(" up)</h2>")
                .Append("<table class=\"backend\"><tr><th>server</th><th>address</th><th>status</th><th>weight</th>");
            SessionHeaders(html);
            FailureHeaders(html);
            html.Append("</tr>");
            foreach (var s in b.Servers)
            {
                html.Append("<tr>");
                Name(html, s.Name);
                Name(html, s.Address);
                html.Append("<td class=\"").Append(s.Status).Append("\">").Append(s.Status).Append(s.Checked ? "" : " (no check)")
                    .Append(s.Admin == "ready" ? "" : $" {s.Admin.ToUpperInvariant()}").Append("</td>");
                Cell(html, s.Weight);
                SessionCells(html, s.Totals);
                FailureCells(html, s.Totals);
                html.Append("</tr>");
            }

            html.Append("<tr><td class=\"name\"><b>total</b></td><td></td><td></td><td></td>");
            SessionCells(html, b.Totals);
            FailureCells(html, b.Totals);
            html.Append("</tr></table>");
        }

        html.Append("<h2>Workers</h2><table id=\"workers\"><tr><th>worker</th><th>cpu</th>");
        foreach (var column in StatsReport.WorkerColumns)
        {
            html.Append("<th title=\"").Append(Escape(column.Help)).Append("\">").Append(column.Key).Append("</th>");
        }

        html.Append("<th>passive local</th><th>passive remote</th><th>passive local %</th>")
            .Append("<th>outbound local</th><th>outbound remote</th><th>outbound local %</th>")
            .Append("<th>spliced %</th><th>proxy sessions</th><th>in-process</th></tr>");
        foreach (var w in report.Workers)
        {
            var s = w.Stats;
            html.Append("<tr>");
            Cell(html, s.Worker);
            Cell(html, s.Cpu);
            foreach (var column in StatsReport.WorkerColumns)
            {
                Cell(html, column.Get(s));
            }

            Cell(html, s.LocalConnections);
            Cell(html, s.RemoteConnections);
            Percent(html, w.PassiveLocalRatio);
            Cell(html, s.OutboundLocalConnections);
            Cell(html, s.OutboundRemoteConnections);
            Percent(html, w.OutboundLocalRatio);
            Percent(html, WorkerRow.Ratio(s.BytesSpliced, s.BytesCopied));
            Cell(html, w.Totals.Sessions);
            Cell(html, w.Totals.InProcess);
            html.Append("</tr>");
        }

        html.Append("</table>");
        report.Tls.WriteHtml(html);
        report.BackendTls.WriteHtml(html);
        html.Append("<p><a href=\"/stats?format=json\">json</a> · <a href=\"/metrics\">metrics</a></p></body></html>");
        return Encoding.UTF8.GetBytes(html.ToString());
    }

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static void SessionHeaders(StringBuilder html)
    {
        foreach (var column in StatsReport.SessionColumns)
        {
            html.Append("<th title=\"").Append(Escape(column.Help)).Append("\">").Append(column.Key).Append("</th>");
        }

        foreach (var column in StatsReport.HttpColumns)
        {
            html.Append("<th title=\"").Append(Escape(column.Help)).Append("\">").Append(column.Key).Append("</th>");
        }

        foreach (var column in StatsReport.ConnectionColumns)
        {
            if (column.Key is { } key)
            {
                html.Append("<th title=\"").Append(Escape(column.Help)).Append("\">conn ").Append(key).Append("</th>");
            }
        }
    }

    private static void SessionCells(StringBuilder html, SessionTotals totals)
    {
        foreach (var column in StatsReport.SessionColumns)
        {
            Cell(html, column.Get(totals));
        }

        foreach (var column in StatsReport.HttpColumns)
        {
            Cell(html, column.Get(totals));
        }

        foreach (var column in StatsReport.ConnectionColumns)
        {
            if (column.Key is not null)
            {
                Cell(html, column.Of(totals));
            }
        }
    }

    private static void FailureHeaders(StringBuilder html)
    {
        foreach (var column in StatsReport.FailureColumns)
        {
            html.Append("<th title=\"").Append(Escape(column.Help)).Append("\">").Append(column.Key).Append("</th>");
        }
    }

    private static void FailureCells(StringBuilder html, SessionTotals totals)
    {
        foreach (var column in StatsReport.FailureColumns)
        {
            Cell(html, column.Of(totals));
        }
    }

    private static void Name(StringBuilder html, string text) => html.Append("<td class=\"name\">").Append(Escape(text)).Append("</td>");

    private static void Cell(StringBuilder html, long value) => html.Append("<td>").Append(value.ToString(CultureInfo.InvariantCulture)).Append("</td>");

    private static void Percent(StringBuilder html, double ratio) =>
        html.Append("<td>").Append((ratio * 100).ToString("0.0", CultureInfo.InvariantCulture)).Append("</td>");
}
