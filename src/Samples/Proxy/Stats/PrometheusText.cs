using System.Globalization;
using System.Text;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>
/// GET /metrics: the report in the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per
/// metric, then one <c>name{labels} value</c> line per frontend, backend, server or worker.
/// </summary>
internal static class PrometheusText
{
    public static byte[] Write(StatsReport report)
    {
        var text = new StringBuilder(8192);
        foreach (var column in StatsReport.SessionColumns)
        {
            Metric(text, $"fastsock_proxy_frontend_{column.Metric}", $"Frontend: {column.Help}", column.IsCounter,
                report.Frontends.Select(f => (Labels(("frontend", f.Name)), column.Get(f.Totals))));
        }

        HttpMetrics(text, "frontend", report.Frontends.Select(f => (("frontend", f.Name), f.Totals)));
        foreach (var column in StatsReport.SessionColumns)
        {
            Metric(text, $"fastsock_proxy_backend_{column.Metric}", $"Backend: {column.Help}", column.IsCounter,
                report.Backends.Select(b => (Labels(("backend", b.Name)), column.Get(b.Totals))));
        }

        HttpMetrics(text, "backend", report.Backends.Select(b => (("backend", b.Name), b.Totals)));
        Metric(text, "fastsock_proxy_backend_servers_up", "Backend: servers up.", false,
            report.Backends.Select(b => (Labels(("backend", b.Name)), (long)b.ServersUp)));
        var servers = report.Backends.SelectMany(b => b.Servers.Select(s => (Labels: Labels(("backend", b.Name), ("server", s.Name)), Server: s))).ToList();
        Metric(text, "fastsock_proxy_server_up", "Server: 1 when up (health checks pass or none), 0 when down.", false,
            servers.Select(s => (s.Labels, s.Server.Up ? 1L : 0L)));
        Metric(text, "fastsock_proxy_server_weight", "Server: balancing weight.", false, servers.Select(s => (s.Labels, (long)s.Server.Weight)));
        Metric(text, "fastsock_proxy_server_admin_state", "Server: 1 for the state the runtime API set (ready, drain, maint).", false,
            servers.SelectMany(s => AdminStates.Select(state => (WithLabel(s.Labels, ("state", state)), s.Server.Admin == state ? 1L : 0L))));
        foreach (var column in StatsReport.SessionColumns.Where(c => c.Key != "noServer")) // a refused session has no server
        {
            Metric(text, $"fastsock_proxy_server_{column.Metric}", $"Server: {column.Help}", column.IsCounter,
                servers.Select(s => (s.Labels, column.Get(s.Server.Totals))));
        }

        foreach (var group in StatsReport.HttpColumns.Where(c => c.Counter != HttpCounter.ProxyHeaderErrors).GroupBy(c => c.Metric))
        {
            Metric(text, $"fastsock_proxy_server_{group.Key}", $"Server: {group.First().Help}", true,
                servers.SelectMany(s => group.Select(c => (WithLabel(s.Labels, c.Label), c.Get(s.Server.Totals)))));
        }

        ConnectionMetrics(text, "server", servers.Select(s => (s.Labels, s.Server.Totals)));
        ConnectionMetrics(text, "backend", report.Backends.Select(b => (Labels(("backend", b.Name)), b.Totals)));
        FailureMetrics(text, "server", servers.Select(s => (s.Labels, s.Server.Totals)));
        FailureMetrics(text, "backend", report.Backends.Select(b => (Labels(("backend", b.Name)), b.Totals)));
        var workers = report.Workers.Select(w => (Labels: WorkerLabels(w), Worker: w)).ToList();
        ConnectionMetrics(text, "worker", workers.Select(w => (w.Labels, w.Worker.Totals)));
        foreach (var column in StatsReport.SessionColumns)
        {
            Metric(text, $"fastsock_proxy_worker_{column.Metric}", $"Worker (all frontends): {column.Help}", column.IsCounter,
                workers.Select(w => (w.Labels, column.Get(w.Worker.Totals))));
        }

        foreach (var group in StatsReport.HttpColumns.GroupBy(c => c.Metric))
        {
            Metric(text, $"fastsock_proxy_worker_{group.Key}", $"Worker (all frontends): {group.First().Help}", true,
                workers.SelectMany(w => group.Select(c => (WithLabel(w.Labels, c.Label), c.Get(w.Worker.Totals)))));
        }

        foreach (var column in StatsReport.WorkerColumns)
        {
            Metric(text, $"fastsock_worker_{column.Metric}", $"Worker: {column.Help}", column.IsCounter,
                workers.Select(w => (w.Labels, column.Get(w.Worker.Stats))));
        }

        Metric(text, "fastsock_worker_locality_local_total", "Worker: connections whose packets were processed on the worker's own CPU.", true,
            report.Workers.SelectMany(w => new[]
            {
                (WorkerLabels(w, "passive"), w.Stats.LocalConnections),
                (WorkerLabels(w, "outbound"), w.Stats.OutboundLocalConnections),
            }));
        Metric(text, "fastsock_worker_locality_remote_total", "Worker: connections whose packets were processed on another CPU.", true,
            report.Workers.SelectMany(w => new[]
            {
                (WorkerLabels(w, "passive"), w.Stats.RemoteConnections),
                (WorkerLabels(w, "outbound"), w.Stats.OutboundRemoteConnections),
            }));
        report.Tls.WritePrometheus(text);
        report.BackendTls.WritePrometheus(text);
        Metric(text, "fastsock_proxy_unobserved_task_exceptions_total", "Process: faults of tasks nothing awaited, each logged as one warning.", true,
            [("", report.UnobservedTaskExceptions)]);
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>The http counters of frontends or backends: one metric per name, its columns told apart by their label.</summary>
    private static void HttpMetrics(StringBuilder text, string kind, IEnumerable<((string Name, string Value) Label, SessionTotals Totals)> rows)
    {
        var list = rows.ToList();
        foreach (var group in StatsReport.HttpColumns.GroupBy(c => c.Metric))
        {
            if (kind == "backend" && group.Key == "proxy_header_errors_total")
            {
                continue; // counted where the connection arrives
            }

            Metric(text, $"fastsock_proxy_{kind}_{group.Key}", $"{char.ToUpperInvariant(kind[0])}{kind[1..]}: {group.First().Help}", true,
                list.SelectMany(r => group.Select(c => (c.Label is { } label ? Labels(r.Label, label) : Labels(r.Label), c.Get(r.Totals)))));
        }
    }

    /// <summary>The backend connection counters of servers, backends or workers: one metric per name, reasons told apart by their label.</summary>
    private static void ConnectionMetrics(StringBuilder text, string kind, IEnumerable<(string Labels, SessionTotals Totals)> rows)
    {
        var list = rows.ToList();
        string title = $"{char.ToUpperInvariant(kind[0])}{kind[1..]}";
        foreach (var group in StatsReport.ConnectionColumns.Where(c => c.Metric is not null).GroupBy(c => c.Metric!))
        {
            Metric(text, $"fastsock_proxy_{kind}_{group.Key}", $"{title}: {group.First().Help}", group.First().IsCounter,
                list.SelectMany(r => group.Select(c => (WithLabel(r.Labels, c.Label), c.Of(r.Totals)))));
        }
    }

    /// <summary>Failures by reason (one metric labelled by reason), redispatches and passive mark-downs of servers or backends.</summary>
    private static void FailureMetrics(StringBuilder text, string kind, IEnumerable<(string Labels, SessionTotals Totals)> rows)
    {
        var list = rows.ToList();
        string title = $"{char.ToUpperInvariant(kind[0])}{kind[1..]}";
        foreach (var group in StatsReport.FailureColumns.GroupBy(c => c.Metric))
        {
            Metric(text, $"fastsock_proxy_{kind}_{group.Key}", $"{title}: {group.First().Help}", true,
                list.SelectMany(r => group.Select(c => (WithLabel(r.Labels, c.Label), c.Of(r.Totals)))));
        }
    }

    /// <summary><paramref name="labels"/> (already <c>{…}</c>) with one more label appended.</summary>
    private static readonly string[] AdminStates = ["ready", "drain", "maint"];

    private static string WithLabel(string labels, (string Name, string Value)? extra) =>
        extra is { } label ? string.Concat(labels.AsSpan(0, labels.Length - 1), ",", Labels(label).AsSpan(1)) : labels;

    private static string WorkerLabels(WorkerRow w, string? direction = null)
    {
        string worker = w.Stats.Worker.ToString(CultureInfo.InvariantCulture);
        string cpu = w.Stats.Cpu.ToString(CultureInfo.InvariantCulture);
        return direction is null ? Labels(("worker", worker), ("cpu", cpu)) : Labels(("worker", worker), ("cpu", cpu), ("direction", direction));
    }

    private static void Metric(StringBuilder text, string name, string help, bool counter, IEnumerable<(string Labels, long Value)> series)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        text.Append("# TYPE ").Append(name).Append(counter ? " counter\n" : " gauge\n");
        foreach (var (labels, value) in series)
        {
            text.Append(name).Append(labels).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    /// <summary><c>{a="x",b="y"}</c> with values escaped as the format asks (backslash, quote, newline).</summary>
    private static string Labels(params (string Name, string Value)[] labels)
    {
        var text = new StringBuilder("{");
        foreach (var (name, value) in labels)
        {
            if (text.Length > 1)
            {
                text.Append(',');
            }

            text.Append(name).Append("=\"")
                .Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal))
                .Append('"');
        }

        return text.Append('}').ToString();
    }
}
