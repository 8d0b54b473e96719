using System.Text.Json;

namespace Fastsock.Hosting;

/// <summary>
/// Process-wide managed memory and thread-pool activity as JSON, for an app's stats page (Hello's <c>/stats</c> and the
/// proxy's admin JSON write it): live objects against GC headroom when measuring memory per connection, and work that
/// left the workers for the .NET thread pool (a worker-only request path leaves <c>completedWorkItems</c> flat).
/// </summary>
public static class ProcessStatsJson
{
    /// <summary>Writes the <c>gc</c> and <c>threadPool</c> objects into the object <paramref name="json"/> is in.</summary>
    public static void Write(Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(json);
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
