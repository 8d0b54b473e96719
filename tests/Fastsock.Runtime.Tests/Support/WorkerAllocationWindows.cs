using System.Diagnostics;
using Fastsock.Engine;
using Xunit.Abstractions;

namespace Fastsock.Tests.Support;

/// <summary>
/// The measurement of the tests that load one worker from outside and count what its thread allocates: up to five
/// windows, each a loaded one followed by an idle one as long, so that what the worker allocates anyway (timers, the
/// probe itself) is not counted as the load's. A per-operation allocation shows in every window; a one-off (tiering,
/// a pool or a slab reaching its working set) in one at most, so the measurement stops at the first clean window.
/// </summary>
internal static class WorkerAllocationWindows
{
    private const int Windows = 5;

    /// <summary>
    /// Runs <paramref name="load"/> once per window until one allocates less than <paramref name="cleanBelow"/> bytes
    /// beyond its idle baseline on <paramref name="worker"/>'s thread; the excess of every window run, in order.
    /// </summary>
    /// <param name="loadDescription">What one load does, for the per-window line in the test's output.</param>
    public static async Task<List<long>> MeasureAsync(Worker worker, Func<Task> load, long cleanBelow, string loadDescription, ITestOutputHelper output)
    {
        var excess = new List<long>(Windows);
        for (int window = 0; window < Windows; window++)
        {
            var clock = Stopwatch.StartNew();
            long before = await WorkerThreads.AllocatedBytes(worker);
            await load();
            long loaded = await WorkerThreads.AllocatedBytes(worker) - before;
            var length = clock.Elapsed;

            before = await WorkerThreads.AllocatedBytes(worker);
            await Task.Delay(length);
            long idle = await WorkerThreads.AllocatedBytes(worker) - before;

            excess.Add(loaded - idle);
            output.WriteLine($"window {window}: {loaded} B loaded, {idle} B idle over {length.TotalMilliseconds:F0} ms, {loadDescription}");
            if (loaded - idle < cleanBelow)
            {
                break;
            }
        }

        return excess;
    }
}
