using System.Buffers;
using System.Text.Json;
using Fastsock.Hosting;

namespace Fastsock.Samples.Hello;

/// <summary>GET /stats: the per-worker counters as JSON. Not a hot path: it allocates a little per call.</summary>
internal static class StatsJson
{
    public static ReadOnlySpan<byte> Write(IReadOnlyList<WorkerStats> stats)
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

            WriteProcess(json);

            // Process-wide Monitor contentions, read by perf/run before and after a load run.
            json.WriteNumber("lockContentions", Monitor.LockContentionCount);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan;
    }

    /// <summary>
    /// Process-wide managed memory and thread-pool activity (also in the proxy's stats): live objects against GC
    /// headroom when measuring memory per connection, and work that left the workers for the .NET thread pool.
    /// </summary>
    internal static void WriteProcess(Utf8JsonWriter json)
    {
        var gc = GC.GetGCMemoryInfo();
        json.WriteStartObject("gc");
        json.WriteNumber("heapBytes", gc.HeapSizeBytes);
        json.WriteNumber("committedBytes", gc.TotalCommittedBytes);
        json.WriteNumber("totalAllocatedBytes", GC.GetTotalAllocatedBytes());
        json.WriteNumber("gen0Collections", GC.CollectionCount(0));
        json.WriteNumber("gen1Collections", GC.CollectionCount(1));
        json.WriteNumber("gen2Collections", GC.CollectionCount(2));

        // Gen0 before the last collection: about what the gen0 budget lets grow between collections.
        var generations = gc.GenerationInfo;
        json.WriteNumber("gen0BeforeLastGcBytes", generations.Length > 0 ? generations[0].SizeBeforeBytes : 0);
        json.WriteNumber("gen0AfterLastGcBytes", generations.Length > 0 ? generations[0].SizeAfterBytes : 0);
        json.WriteBoolean("concurrent", gc.Concurrent);
        json.WriteEndObject();
        json.WriteStartObject("threadPool");
        json.WriteNumber("completedWorkItems", ThreadPool.CompletedWorkItemCount);
        json.WriteNumber("threads", ThreadPool.ThreadCount);
        json.WriteEndObject();
    }
}
