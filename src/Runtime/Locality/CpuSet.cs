using System.Collections;
using System.Globalization;
using System.Text;

namespace Fastsock.Locality;

/// <summary>
/// An ordered set of CPU numbers, as written on a command line: <c>all</c>, <c>0-3</c>, <c>0,2,5</c> or <c>0-3,8</c>.
/// One worker runs per CPU, in ascending order.
/// </summary>
public sealed class CpuSet : IReadOnlyList<int>
{
    private readonly int[] _cpus;

    private CpuSet(int[] cpus) => _cpus = cpus;

    /// <summary>How many CPUs the set holds.</summary>
    public int Count => _cpus.Length;

    /// <summary>The <paramref name="index"/>-th CPU in ascending order.</summary>
    public int this[int index] => _cpus[index];

    /// <summary>The CPUs this process may run on (its affinity mask, as set by taskset or cgroups).</summary>
    public static CpuSet Allowed() => new(CpuAffinity.GetAllowedCpus());

    /// <summary>Builds a set from explicit CPU numbers (duplicates removed, sorted).</summary>
    public static CpuSet Of(params int[] cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        foreach (int cpu in cpus)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu, nameof(cpus));
        }

        return new CpuSet(cpus.Distinct().Order().ToArray());
    }

    /// <summary>Parses <c>all</c>, a list and/or ranges. Does not check the affinity mask; see <see cref="EnsureAllowed"/>.</summary>
    /// <exception cref="FormatException">The text is not a CPU list; the message says what was wrong.</exception>
    public static CpuSet Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return Allowed();
        }

        if (trimmed.Length == 0)
        {
            throw new FormatException("CPU set is empty: give 'all', a list like 0,2,5 or a range like 0-3.");
        }

        var cpus = new SortedSet<int>();
        foreach (var part in trimmed.Split(',', StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                cpus.Add(ParseCpu(part, text));
                continue;
            }

            int first = ParseCpu(part[..dash], text);
            int last = ParseCpu(part[(dash + 1)..], text);
            if (last < first)
            {
                throw new FormatException($"CPU set '{text}': range {part} runs backwards; write it low-high, e.g. {last}-{first}.");
            }

            for (int cpu = first; cpu <= last; cpu++)
            {
                cpus.Add(cpu);
            }
        }

        return new CpuSet([.. cpus]);
    }

    /// <summary>Throws when a CPU is outside this process's affinity mask, naming it and the allowed set.</summary>
    public void EnsureAllowed()
    {
        var allowed = Allowed();
        foreach (int cpu in _cpus)
        {
            if (!allowed.Contains(cpu))
            {
                throw new ArgumentException(
                    $"CPU {cpu} (from --cores {this}) is not in this process's affinity mask ({allowed}); pick CPUs from {allowed} or widen the mask (taskset -c).");
            }
        }
    }

    /// <summary>Whether <paramref name="cpu"/> is in the set.</summary>
    public bool Contains(int cpu) => Array.BinarySearch(_cpus, cpu) >= 0;

    /// <summary>The compact form, e.g. <c>0-3,8</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        for (int i = 0; i < _cpus.Length; i++)
        {
            int start = _cpus[i];
            while (i + 1 < _cpus.Length && _cpus[i + 1] == _cpus[i] + 1)
            {
                i++;
            }

            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(CultureInfo.InvariantCulture, $"{start}");
            if (_cpus[i] != start)
            {
                text.Append(CultureInfo.InvariantCulture, $"-{_cpus[i]}");
            }
        }

        return text.ToString();
    }

    /// <summary>The CPUs in ascending order.</summary>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)_cpus).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static int ParseCpu(string part, string whole)
    {
        if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int cpu) || cpu >= CpuAffinity.MaxCpus)
        {
            throw new FormatException($"CPU set '{whole}': '{part}' is not a CPU number; give 'all', a list like 0,2,5 or a range like 0-3.");
        }

        return cpu;
    }
}
