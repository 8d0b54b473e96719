using Fastsock.Native;

namespace Fastsock.Locality;

/// <summary>Reads and sets CPU affinity with sched_getaffinity/sched_setaffinity.</summary>
internal static unsafe class CpuAffinity
{
    public const int MaxCpus = ThreadCalls.MaskWords * 64;

    /// <summary>The CPUs the calling thread may run on, ascending.</summary>
    public static int[] GetAllowedCpus()
    {
        ulong* mask = stackalloc ulong[ThreadCalls.MaskWords];
        if (ThreadCalls.GetAffinity(0, ThreadCalls.MaskWords * sizeof(ulong), mask) != 0)
        {
            throw Errno.Exception("sched_getaffinity");
        }

        var cpus = new List<int>();
        for (int cpu = 0; cpu < MaxCpus; cpu++)
        {
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) != 0)
            {
                cpus.Add(cpu);
            }
        }

        return [.. cpus];
    }

    /// <summary>Pins the calling thread to exactly one CPU.</summary>
    public static void PinCurrentThread(int cpu)
    {
        ulong* mask = stackalloc ulong[ThreadCalls.MaskWords];
        new Span<ulong>(mask, ThreadCalls.MaskWords).Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        if (ThreadCalls.SetAffinity(0, ThreadCalls.MaskWords * sizeof(ulong), mask) != 0)
        {
            throw Errno.Exception($"sched_setaffinity(CPU {cpu})", "Pick a CPU from the process's affinity mask.");
        }
    }

    /// <summary>Sets the calling thread's affinity to a set of CPUs (used to restore after a temporary pin).</summary>
    public static void SetCurrentThread(IReadOnlyList<int> cpus)
    {
        ulong* mask = stackalloc ulong[ThreadCalls.MaskWords];
        new Span<ulong>(mask, ThreadCalls.MaskWords).Clear();
        foreach (int cpu in cpus)
        {
            mask[cpu / 64] |= 1UL << (cpu % 64);
        }

        if (ThreadCalls.SetAffinity(0, ThreadCalls.MaskWords * sizeof(ulong), mask) != 0)
        {
            throw Errno.Exception("sched_setaffinity");
        }
    }
}
