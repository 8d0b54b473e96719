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
/// failures by reason per server per worker (the runtime's <see cref="TlsClientStats"/> of each server's
/// <c>tls</c> settings). Written into the stats page, its JSON (<c>tlsServers</c>) and /metrics
/// (<c>fastsock_tls_client_*</c>), beside the frontends' <see cref="TlsReport"/>.
/// </summary>
internal sealed record BackendTlsReport(IReadOnlyList<BackendTlsRow> Rows)
{
    public static readonly BackendTlsReport Empty = new([]);

    /// <summary>Each reason's JSON key and Prometheus label, in the enum's order.</summary>
    private static readonly (string Key, string Label, TlsClientFailureReason Reason)[] FailureColumns =
    [
        ("timeout", "timeout", TlsClientFailureReason.Timeout),
        ("untrustedRoot", "untrusted_root", TlsClientFailureReason.UntrustedRoot),
        ("nameMismatch", "name_mismatch", TlsClientFailureReason.NameMismatch),
        ("expired", "expired", TlsClientFailureReason.Expired),
        ("handshakeError", "handshake_error", TlsClientFailureReason.HandshakeError),
        ("peerClosed", "peer_closed", TlsClientFailureReason.PeerClosed),
    ];

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
            var s = row.Stats;
            json.WriteStartObject();
            json.WriteString("backend", row.Backend);
            json.WriteString("server", row.Server);
            json.WriteString("address", row.Address);
            json.WriteNumber("worker", row.Worker);
            json.WriteNumber("handshakes", s.Handshakes);
            json.WriteNumber("resumed", s.Resumed);
            json.WriteNumber("tls12", s.Tls12);
            json.WriteNumber("tls13", s.Tls13);
            CipherSuitesJson.Write(json, s.CipherSuites);
            json.WriteStartObject("failures");
            foreach (var (key, _, reason) in FailureColumns)
            {
                json.WriteNumber(key, s.FailuresOf(reason));
            }

            json.WriteEndObject();
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
        TlsReport.Metric(text, "fastsock_tls_client_handshake_failures_total",
            "TLS handshakes to servers that failed, by reason (timeout, untrusted_root, name_mismatch, expired, handshake_error, peer_closed).", true,
            Rows.SelectMany(r => FailureColumns.Select(c => (Labels(r, ("reason", c.Label)), r.Stats.FailuresOf(c.Reason)))));
    }

    public void WriteHtml(StringBuilder html)
    {
        if (Rows.Count == 0)
        {
            return;
        }

        html.Append("<h2>TLS to servers</h2><table id=\"tls-servers\"><tr><th>backend</th><th>server</th><th>worker</th><th>handshakes</th><th>resumed</th><th>TLS 1.2</th><th>TLS 1.3</th>");
        foreach (var (key, _, _) in FailureColumns)
        {
            html.Append("<th>").Append(key).Append("</th>");
        }

        html.Append("<th>cipher suites</th></tr>");
        foreach (var row in Rows)
        {
            var s = row.Stats;
            html.Append("<tr><td class=\"name\">").Append(WebUtility.HtmlEncode(row.Backend)).Append("</td><td class=\"name\">")
                .Append(WebUtility.HtmlEncode(row.Server)).Append("</td>");
            foreach (long value in new[] { row.Worker, s.Handshakes, s.Resumed, s.Tls12, s.Tls13 })
            {
                Cell(html, value);
            }

            foreach (var (_, _, reason) in FailureColumns)
            {
                Cell(html, s.FailuresOf(reason));
            }

            html.Append("<td>");
            for (int i = 0; i < s.CipherSuites.Count; i++)
            {
                if (s.CipherSuites[i] > 0)
                {
                    html.Append(TlsCipherTable.Names[i]).Append(": ").Append(s.CipherSuites[i].ToString(CultureInfo.InvariantCulture)).Append("<br>");
                }
            }

            html.Append("</td></tr>");
        }

        html.Append("</table>");
    }

    private static void Cell(StringBuilder html, long value) => html.Append("<td>").Append(value.ToString(CultureInfo.InvariantCulture)).Append("</td>");

    private static string Labels(BackendTlsRow row, (string Name, string Value)? extra = null)
    {
        var labels = $"backend=\"{TlsReport.Escape(row.Backend)}\",server=\"{TlsReport.Escape(row.Server)}\",worker=\"{row.Worker.ToString(CultureInfo.InvariantCulture)}\"";
        return extra is { } e ? $"{{{labels},{e.Name}=\"{TlsReport.Escape(e.Value)}\"}}" : $"{{{labels}}}";
    }
}
