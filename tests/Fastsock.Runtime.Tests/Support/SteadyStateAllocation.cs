namespace Fastsock.Tests.Support;

/// <summary>
/// The shared shape of the single-thread allocation tests: warm up, then measure a window of iterations on this
/// thread (<see cref="GC.GetAllocatedBytesForCurrentThread"/>), up to three windows, and require one to allocate
/// nothing. A per-iteration allocation shows in every window; a one-off (tiered compilation swapping in optimised
/// code, a lazily built cache) in at most one. Being per thread, other tests running at the same time cannot leak in.
/// </summary>
internal static class SteadyStateAllocation
{
    private const int Windows = 3;

    /// <param name="measure">Runs the given number of iterations and returns the bytes this thread allocated meanwhile.</param>
    public static void AssertNothingPerIteration(Func<int, long> measure, int warmUp, int iterations)
    {
        measure(warmUp);
        var windows = new List<long>(Windows);
        for (int w = 0; w < Windows; w++)
        {
            long allocated = measure(iterations);
            windows.Add(allocated);
            if (allocated == 0)
            {
                return;
            }
        }

        Assert.Fail($"Every window of {iterations} iterations allocated: {string.Join(", ", windows)} B.");
    }
}
