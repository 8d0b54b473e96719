using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Fastsock.Samples.Proxy.Tls;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>One frontend's TLS counters on one worker.</summary>
internal sealed record TlsRow(string Frontend, int Worker, TlsStatsSnapshot Stats);

/// <summary>
/// The TLS part of the admin endpoint: handshakes, resumptions, protocols, cipher suites and failures per frontend per
/// worker, and whether the kernel offers kTLS. Written into the stats page, its JSON (<c>tls</c>) and /metrics
/// (<c>fastsock_tls_*</c>).
/// </summary>
internal sealed record TlsReport(IReadOnlyList<TlsRow> Rows, KernelTlsStatus? Kernel)
{
    public static readonly TlsReport Empty = new([], null);

    private static readonly TlsTableColumns<TlsStatsSnapshot> Columns = new(
        [
            ("handshakes", "handshakes", s => s.Handshakes),
            ("resumed", "resumed", s => s.Resumed),
            ("tls12", "TLS 1.2", s => s.Tls12),
            ("tls13", "TLS 1.3", s => s.Tls13),
            ("alpnHttp11", "ALPN http/1.1", s => s.Http11),
            ("badRecords", "bad records", s => s.BadRecords),
        ],
        [
            ("timeout", "timeout", s => s.Timeouts),
            ("notTls", "not_tls", s => s.NotTls),
            ("handshakeError", "handshake_error", s => s.HandshakeErrors),
            ("peerClosed", "peer_closed", s => s.PeerClosed),
        ],
        s => s.CipherSuites);

    /// <summary>Every TLS frontend's counters on each of <paramref name="workers"/> workers; empty without TLS frontends.</summary>
    public static TlsReport Collect(FrontendTlsStats? stats, int workers)
    {
        if (stats is null)
        {
            return Empty;
        }

        var rows = new List<TlsRow>();
        foreach (var (frontend, counters) in stats.All())
        {
            for (int worker = 0; worker < workers; worker++)
            {
                rows.Add(new TlsRow(frontend, worker, counters.Snapshot(worker)));
            }
        }

        return rows.Count == 0 ? Empty : new TlsReport(rows, KernelTls.Status);
    }

    public void WriteJson(Utf8JsonWriter json)
    {
        if (Kernel is null)
        {
            return;
        }

        json.WriteStartObject("tls");
        json.WriteStartObject("kernelTls");
        json.WriteBoolean("available", Kernel.Available);
        json.WriteString("errno", Kernel.Available ? "" : Kernel.ErrnoName);
        json.WriteEndObject();
        json.WriteStartArray("frontends");
        foreach (var row in Rows)
        {
            json.WriteStartObject();
            json.WriteString("frontend", row.Frontend);
            json.WriteNumber("worker", row.Worker);
            Columns.WriteJson(json, row.Stats);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public void WritePrometheus(StringBuilder text)
    {
        if (Kernel is null)
        {
            return;
        }

        Metric(text, "fastsock_tls_handshakes_total", "TLS handshakes completed.", true, Rows.Select(r => (Labels(r), r.Stats.Handshakes)));
        Metric(text, "fastsock_tls_resumed_handshakes_total", "TLS handshakes that resumed a session (1.3 ticket, 1.2 id or ticket).", true,
            Rows.Select(r => (Labels(r), r.Stats.Resumed)));
        Metric(text, "fastsock_tls_protocol_handshakes_total", "TLS handshakes completed, by protocol version.", true,
            Rows.SelectMany(r => new[] { (Labels(r, ("protocol", "TLSv1.2")), r.Stats.Tls12), (Labels(r, ("protocol", "TLSv1.3")), r.Stats.Tls13) }));
        Metric(text, "fastsock_tls_cipher_handshakes_total", "TLS handshakes completed, by cipher suite (a fixed set; the rest as other).", true,
            Rows.SelectMany(r => r.Stats.CipherSuites.Select((count, i) => (Labels(r, ("cipher", TlsCipherTable.Names[i])), count))));
        Metric(text, "fastsock_tls_alpn_http11_handshakes_total", "TLS handshakes that agreed ALPN http/1.1.", true, Rows.Select(r => (Labels(r), r.Stats.Http11)));
        Metric(text, "fastsock_tls_handshake_failures_total",
            "TLS handshakes that failed, by reason (timeout; not_tls: plaintext or noise; handshake_error: refused or malformed; peer_closed).", true,
            Rows.SelectMany(r => Columns.Failures.Select(c => (Labels(r, ("reason", c.Label)), c.Get(r.Stats)))));
        Metric(text, "fastsock_tls_bad_records_total",
            "TLS connections closed after the handshake on a record that failed to decrypt or parse (the client got an alert).", true,
            Rows.Select(r => (Labels(r), r.Stats.BadRecords)));
        Metric(text, "fastsock_tls_kernel_available", "1 when the kernel accepts the tls ULP (kTLS); records are encrypted in user space either way.", false,
            [(Kernel.Available ? "" : $"{{errno=\"{Kernel.ErrnoName}\"}}", Kernel.Available ? 1L : 0L)]);
    }

    public void WriteHtml(StringBuilder html)
    {
        if (Kernel is null)
        {
            return;
        }

        html.Append("<h2>TLS</h2><p id=\"ktls\">").Append(WebUtility.HtmlEncode(Kernel.Describe())).Append("</p>");
        html.Append("<table id=\"tls\"><tr><th>frontend</th>");
        Columns.WriteHtmlHeader(html);
        foreach (var row in Rows)
        {
            html.Append("<tr><td class=\"name\">").Append(WebUtility.HtmlEncode(row.Frontend)).Append("</td>");
            Columns.WriteHtmlCells(html, row.Worker, row.Stats);
        }

        html.Append("</table>");
    }

    private static string Labels(TlsRow row, (string Name, string Value)? extra = null) =>
        PrometheusLabels($"frontend=\"{Escape(row.Frontend)}\",worker=\"{row.Worker.ToString(CultureInfo.InvariantCulture)}\"", extra);

    /// <summary><c>{labels}</c>, or with one more label: what both TLS tables write on each series.</summary>
    internal static string PrometheusLabels(string labels, (string Name, string Value)? extra) =>
        extra is { } e ? $"{{{labels},{e.Name}=\"{Escape(e.Value)}\"}}" : $"{{{labels}}}";

    internal static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static void Metric(StringBuilder text, string name, string help, bool counter, IEnumerable<(string Labels, long Value)> series)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(counter ? " counter\n" : " gauge\n");
        foreach (var (labels, value) in series)
        {
            text.Append(name).Append(labels).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }
}
