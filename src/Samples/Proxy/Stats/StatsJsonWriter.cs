using System.Buffers;
using System.Text.Json;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>GET /stats?format=json: the report as JSON, the same figures as the HTML page.</summary>
internal static class StatsJsonWriter
{
    public static byte[] Write(StatsReport report, IReadOnlyList<Fastsock.Transport.TcpFriendsStats>? friends = null)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("frontends");
            foreach (var f in report.Frontends)
            {
                json.WriteStartObject();
                json.WriteString("name", f.Name);
                json.WriteString("mode", f.Mode);
                json.WriteString("backend", f.Backend);
                WriteTotals(json, f.Totals);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("backends");
            foreach (var b in report.Backends)
            {
                json.WriteStartObject();
                json.WriteString("name", b.Name);
                json.WriteString("balance", b.Balance);
                json.WriteNumber("serversUp", b.ServersUp);
                WriteTotals(json, b.Totals);
                WriteFailures(json, b.Totals);
                json.WriteStartArray("servers");
                foreach (var s in b.Servers)
                {
                    json.WriteStartObject();
                    json.WriteString("name", s.Name);
                    json.WriteString("address", s.Address);
                    json.WriteString("status", s.Status);
                    json.WriteBoolean("checked", s.Checked);
                    json.WriteString("admin", s.Admin);
                    json.WriteNumber("weight", s.Weight);
                    WriteTotals(json, s.Totals);
                    WriteFailures(json, s.Totals);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("workers");
            foreach (var w in report.Workers)
            {
                json.WriteStartObject();
                json.WriteNumber("worker", w.Stats.Worker);
                json.WriteNumber("cpu", w.Stats.Cpu);
                json.WriteNumber("threadId", w.Stats.ThreadId);
                foreach (var column in StatsReport.WorkerColumns)
                {
                    json.WriteNumber(column.Key, column.Get(w.Stats));
                }

                json.WriteStartObject("locality");
                WriteLocality(json, "passive", w.Stats.LocalConnections, w.Stats.RemoteConnections, w.PassiveLocalRatio);
                WriteLocality(json, "outbound", w.Stats.OutboundLocalConnections, w.Stats.OutboundRemoteConnections, w.OutboundLocalRatio);
                json.WriteEndObject();
                json.WriteStartObject("proxy");
                WriteTotals(json, w.Totals);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            report.Tls.WriteJson(json);
            report.BackendTls.WriteJson(json);
            if (friends is { Count: > 0 })
            {
                Fastsock.Transport.TcpFriendsStatsJson.Write(json, friends);
            }

            Fastsock.Hosting.ProcessStatsJson.Write(json);
            json.WriteNumber("unobservedTaskExceptions", report.UnobservedTaskExceptions);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteTotals(Utf8JsonWriter json, SessionTotals totals)
    {
        foreach (var column in StatsReport.SessionColumns)
        {
            json.WriteNumber(column.Key, column.Get(totals));
        }

        json.WriteStartObject("http");
        foreach (var column in StatsReport.HttpColumns)
        {
            json.WriteNumber(column.Key, column.Get(totals));
        }

        json.WriteEndObject();
        json.WriteStartObject("connections");
        foreach (var column in StatsReport.ConnectionColumns)
        {
            if (column.Key is { } key)
            {
                json.WriteNumber(key, column.Of(totals));
            }
        }

        json.WriteEndObject();
    }

    private static void WriteFailures(Utf8JsonWriter json, SessionTotals totals)
    {
        json.WriteStartObject("failures");
        foreach (var column in StatsReport.FailureColumns)
        {
            json.WriteNumber(column.Key, column.Of(totals));
        }

        json.WriteEndObject();
    }

    private static void WriteLocality(Utf8JsonWriter json, string direction, long local, long remote, double ratio)
    {
        json.WriteStartObject(direction);
        json.WriteNumber("local", local);
        json.WriteNumber("remote", remote);
        json.WriteNumber("localRatio", Math.Round(ratio, 4));
        json.WriteEndObject();
    }
}
