using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>One TLS server's client-side counters on one worker.</summary>
internal sealed record BackendTlsRow(string Backend, string Server, string Address, int Worker, TlsClientStatsSnapshot Stats);

/// <summary>
/// The TLS the proxy originates to its servers, on the admin endpoint: handshakes (and how many resumed), protocols, cipher suites and
/// failures by reason, and records from the server that closed a connection after its handshake, per server per worker (the runtime's <see cref="TlsClientStats"/> of each server's
/// <c>tls</c> settings). Written into the stats page, its JSON (<c>tlsServers</c>) and /metrics
/// (<c>fastsock_tls_client_*</c>), beside the frontends' <see cref="TlsReport"/>.
/// </summary>
internal sealed record BackendTlsReport(IReadOnlyList<BackendTlsRow> Rows)
{
    public static readonly BackendTlsReport Empty = new([]);

    /// <summary>The servers' table after its names: the counts, then the failure reasons in the enum's order.</summary>
    private static readonly TlsTableColumns<TlsClientStatsSnapshot> Columns = new(
        [
            ("handshakes", "handshakes", s => s.Handshakes),
            ("resumed", "resumed", s => s.Resumed),
            ("tls12", "TLS 1.2", s => s.Tls12),
            ("tls13", "TLS 1.3", s => s.Tls13),
            ("badRecords", "bad records", s => s.BadRecords),
            ("truncatedRecords", "truncated records", s => s.TruncatedRecords),
        ],
        [
            ("timeout", "timeout", s => s.FailuresOf(TlsClientFailureReason.Timeout)),
            ("untrustedRoot", "untrusted_root", s => s.FailuresOf(TlsClientFailureReason.UntrustedRoot)),
            ("nameMismatch", "name_mismatch", s => s.FailuresOf(TlsClientFailureReason.NameMismatch)),
            ("expired", "expired", s => s.FailuresOf(TlsClientFailureReason.Expired)),
            ("handshakeError", "handshake_error", s => s.FailuresOf(TlsClientFailureReason.HandshakeError)),
            ("peerClosed", "peer_closed", s => s.FailuresOf(TlsClientFailureReason.PeerClosed)),
        ],
        s => s.CipherSuites);

    /// <summary>The servers with a <c>tls</c> section in each backend, on each of <paramref name="workers"/> workers.</summary>
    public static BackendTlsReport Collect(IReadOnlyDictionary<string, BackendPool> pools, int workers)
    {
        var rows = new List<BackendTlsRow>();
        foreach (var pool in pools.Values.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            foreach (var server in pool.Servers)
            {
                if (server.Settings.Tls is not { } tls)
                {
                    continue;
                }

                for (int worker = 0; worker < workers; worker++)
                {
                    rows.Add(new BackendTlsRow(pool.Name, server.Settings.Name, server.Settings.Address.ToString(), worker, tls.Options.Stats.Snapshot(worker)));
                }
            }
        }

        return rows.Count == 0 ? Empty : new BackendTlsReport(rows);
    }

    public void WriteJson(Utf8JsonWriter json)
    {
        if (Rows.Count == 0)
        {
            return;
        }

        json.WriteStartArray("tlsServers");
        foreach (var row in Rows)
        {
            json.WriteStartObject();
            json.WriteString("backend", row.Backend);
            json.WriteString("server", row.Server);
            json.WriteString("address", row.Address);
            json.WriteNumber("worker", row.Worker);
            Columns.WriteJson(json, row.Stats);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    public void WritePrometheus(StringBuilder text)
    {
        if (Rows.Count == 0)
        {
            return;
        }

        TlsReport.Metric(text, "fastsock_tls_client_handshakes_total", "TLS handshakes to servers completed (certificate accepted).", true,
            Rows.Select(r => (Labels(r), r.Stats.Handshakes)));
        TlsReport.Metric(text, "fastsock_tls_client_resumed_handshakes_total",
            "TLS handshakes to servers that resumed a session (1.3 ticket, 1.2 id or ticket); none when sni is an IP address (.NET does not resume those).", true,
            Rows.Select(r => (Labels(r), r.Stats.Resumed)));
        TlsReport.Metric(text, "fastsock_tls_client_protocol_handshakes_total", "TLS handshakes to servers completed, by protocol version.", true,
            Rows.SelectMany(r => new[] { (Labels(r, ("protocol", "TLSv1.2")), r.Stats.Tls12), (Labels(r, ("protocol", "TLSv1.3")), r.Stats.Tls13) }));
        TlsReport.Metric(text, "fastsock_tls_client_cipher_handshakes_total", "TLS handshakes to servers completed, by cipher suite (a fixed set; the rest as other).", true,
            Rows.SelectMany(r => r.Stats.CipherSuites.Select((count, i) => (Labels(r, ("cipher", TlsCipherTable.Names[i])), count))));
        TlsReport.Metric(text, "fastsock_tls_client_bad_records_total",
            "Connections to servers closed after the handshake by a record from the server: rejected (failed to decrypt or verify) or truncated (the server closed inside it).", true,
            Rows.SelectMany(r => new[] { (Labels(r, ("reason", "rejected")), r.Stats.BadRecords), (Labels(r, ("reason", "truncated")), r.Stats.TruncatedRecords) }));
        TlsReport.Metric(text, "fastsock_tls_client_handshake_failures_total",
            "TLS handshakes to servers that failed, by reason (timeout, untrusted_root, name_mismatch, expired, handshake_error, peer_closed).", true,
            Rows.SelectMany(r => Columns.Failures.Select(c => (Labels(r, ("reason", c.Label)), c.Get(r.Stats)))));
    }

    public void WriteHtml(StringBuilder html)
    {
        if (Rows.Count == 0)
        {
            return;
        }

        html.Append("<h2>TLS to servers</h2><table id=\"tls-servers\"><tr><th>backend</th><th>server</th>");
        Columns.WriteHtmlHeader(html);
        foreach (var row in Rows)
        {
            html.Append("<tr><td class=\"name\">").Append(WebUtility.HtmlEncode(row.Backend)).Append("</td><td class=\"name\">")
                .Append(WebUtility.HtmlEncode(row.Server)).Append("</td>");
            Columns.WriteHtmlCells(html, row.Worker, row.Stats);
        }

        html.Append("</table>");
    }

    private static string Labels(BackendTlsRow row, (string Name, string Value)? extra = null) =>
        TlsReport.PrometheusLabels(
            $"backend=\"{TlsReport.Escape(row.Backend)}\",server=\"{TlsReport.Escape(row.Server)}\",worker=\"{row.Worker.ToString(CultureInfo.InvariantCulture)}\"", extra);
}
