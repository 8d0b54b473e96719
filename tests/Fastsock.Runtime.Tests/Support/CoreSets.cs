using Fastsock.Locality;

namespace Fastsock.Tests.Support;

/// <summary>Worker CPU sets for tests that must hold with one worker and with two.</summary>
internal static class CoreSets
{
    /// <summary>
    /// The first CPU this process may run on (sched_getaffinity): where one-worker tests run, instead of CPU 0, so the
    /// suite passes under any <c>taskset -c N</c>.
    /// </summary>
    public static int FirstCpu => CpuSet.Allowed()[0];

    /// <summary><see cref="FirstCpu"/> as a worker set.</summary>
    public static CpuSet First => CpuSet.Of(FirstCpu);

    /// <summary><see cref="FirstCpu"/> as a <c>--cores</c> argument and as the samples print it.</summary>
    public static string FirstText => FirstCpu.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The first allowed CPU, and the first two when the process may use two. On a one-CPU machine the two-worker
    /// case cannot exist, so it is left out rather than faked.
    /// </summary>
    public static TheoryData<string> OneAndTwoWorkers
    {
        get
        {
            var allowed = CpuSet.Allowed();
            var data = new TheoryData<string> { allowed[0].ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (allowed.Count >= 2)
            {
                data.Add(CpuSet.Of(allowed[0], allowed[1]).ToString());
            }

            return data;
        }
    }

    /// <summary>The first two allowed CPUs (callers skip through <see cref="TwoCpuFactAttribute"/> when there are fewer).</summary>
    public static CpuSet FirstTwo
    {
        get
        {
            var allowed = CpuSet.Allowed();
            return CpuSet.Of(allowed[0], allowed[1]);
        }
    }
}

/// <summary>A fact that needs two CPUs in the affinity mask; skipped, saying why, on a one-CPU machine.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class TwoCpuFactAttribute : FactAttribute
{
    public TwoCpuFactAttribute()
    {
        if (CpuSet.Allowed().Count < 2)
        {
            Skip = "Needs two CPUs in the affinity mask: spreading over two workers cannot be observed with one.";
        }
    }
}
