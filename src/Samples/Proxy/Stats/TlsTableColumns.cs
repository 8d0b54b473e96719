using System.Globalization;
using System.Text;
using System.Text.Json;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>
/// The columns of a TLS table row after its name: the worker, the counts (handshakes, resumed, by protocol, …),
/// failures by reason and handshakes by cipher suite. The frontends' (<see cref="TlsReport"/>) and the servers'
/// (<see cref="BackendTlsReport"/>) tables list different counters of different snapshots
/// (<typeparamref name="TStats"/>) and write them the same way, in the stats JSON and on the HTML page.
/// </summary>
internal sealed class TlsTableColumns<TStats>(
    (string Key, string Header, Func<TStats, long> Get)[] counts,
    (string Key, string Label, Func<TStats, long> Get)[] failures,
    Func<TStats, IReadOnlyList<long>> cipherSuites)
{
    /// <summary>Each failure reason's JSON key, Prometheus label and counter, in the table's order.</summary>
    public IReadOnlyList<(string Key, string Label, Func<TStats, long> Get)> Failures => failures;

    /// <summary>The row's counts, then <c>ciphers</c> and <c>failures</c> objects, inside the row's JSON object.</summary>
    public void WriteJson(Utf8JsonWriter json, TStats stats)
    {
        foreach (var (key, _, get) in counts)
        {
            json.WriteNumber(key, get(stats));
        }

        CipherSuitesJson.Write(json, cipherSuites(stats));
        json.WriteStartObject("failures");
        foreach (var (key, _, get) in failures)
        {
            json.WriteNumber(key, get(stats));
        }

        json.WriteEndObject();
    }

    /// <summary>The header cells after the name columns, and the end of the header row.</summary>
    public void WriteHtmlHeader(StringBuilder html)
    {
        html.Append("<th>worker</th>");
        foreach (var (_, header, _) in counts)
        {
            html.Append("<th>").Append(header).Append("</th>");
        }

        foreach (var (key, _, _) in failures)
        {
            html.Append("<th>").Append(key).Append("</th>");
        }

        html.Append("<th>cipher suites</th></tr>");
    }

    /// <summary>The cells after the row's name cells, and the end of the row.</summary>
    public void WriteHtmlCells(StringBuilder html, int worker, TStats stats)
    {
        Cell(html, worker);
        foreach (var (_, _, get) in counts)
        {
            Cell(html, get(stats));
        }

        foreach (var (_, _, get) in failures)
        {
            Cell(html, get(stats));
        }

        html.Append("<td>");
        var ciphers = cipherSuites(stats);
        for (int i = 0; i < ciphers.Count; i++)
        {
            if (ciphers[i] > 0)
            {
                html.Append(TlsCipherTable.Names[i]).Append(": ").Append(ciphers[i].ToString(CultureInfo.InvariantCulture)).Append("<br>");
            }
        }

        html.Append("</td></tr>");
    }

    private static void Cell(StringBuilder html, long value) => html.Append("<td>").Append(value.ToString(CultureInfo.InvariantCulture)).Append("</td>");
}
