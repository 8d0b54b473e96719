using System.Buffers;
using System.Text.Json;
using Fastsock.Hosting;

namespace Fastsock.Samples.Hello;

/// <summary>GET /stats: the per-worker counters as JSON. Not a hot path: it allocates a little per call.</summary>
internal static class StatsJson
{
    public static ReadOnlySpan<byte> Write(IReadOnlyList<WorkerStats> stats, IReadOnlyList<Fastsock.Transport.TcpFriendsStats>? friends = null)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("workers");
            foreach (var w in stats)
            {
                json.WriteStartObject();
                json.WriteNumber("worker", w.Worker);
                json.WriteNumber("cpu", w.Cpu);
                json.WriteNumber("threadId", w.ThreadId);
                json.WriteNumber("accepted", w.Accepted);
                json.WriteNumber("active", w.Active);
                json.WriteNumber("closed", w.Closed);
                json.WriteNumber("aborted", w.Aborted);
                json.WriteNumber("handlerErrors", w.HandlerErrors);
                json.WriteNumber("bytesReceived", w.BytesReceived);
                json.WriteNumber("bytesSent", w.BytesSent);
                json.WriteStartObject("locality");
                json.WriteNumber("local", w.LocalConnections);
                json.WriteNumber("remote", w.RemoteConnections);
                json.WriteNumber("outboundLocal", w.OutboundLocalConnections);
                json.WriteNumber("outboundRemote", w.OutboundRemoteConnections);
                json.WriteEndObject();
                json.WriteStartObject("outbound");
                json.WriteNumber("connected", w.Connected);
                json.WriteNumber("connectFailures", w.ConnectFailures);
                json.WriteNumber("portsExhausted", w.PortsExhausted);
                json.WriteEndObject();
                json.WriteStartObject("pool");
                json.WriteNumber("rented", w.PoolRented);
                json.WriteNumber("recycled", w.PoolRecycled);
                json.WriteNumber("slabs", w.PoolSlabs);
                json.WriteNumber("inUse", w.PoolBlocksInUse);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (friends is not null)
            {
                Fastsock.Transport.TcpFriendsStatsJson.Write(json, friends);
            }

            Fastsock.Hosting.ProcessStatsJson.Write(json);

            // Process-wide Monitor contentions, read by perf/run before and after a load run.
            json.WriteNumber("lockContentions", Monitor.LockContentionCount);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan;
    }
}
