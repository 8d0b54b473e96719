using System.Globalization;
using Fastsock.Transport;

namespace Fastsock.Locality;

/// <summary>
/// The <c>ethtool -N</c> rules that make <see cref="SourcePortStrategy.Modulo"/> work on a NIC with flow steering
/// (Intel Flow Director and the like): replies whose destination port ≡ worker index (mod 2^k) go to the queue whose
/// IRQ that worker's CPU serves. ethtool's <c>m</c> mask marks the bits to ignore.
/// </summary>
public static class NtupleRules
{
    /// <summary>
    /// One rule per worker and IP version for <paramref name="iface"/>. <paramref name="queueCpus"/> maps queue → CPU
    /// (default: read from the interface's IRQs); a worker whose CPU serves no queue gets queue = its index, with a note.
    /// </summary>
    public static IReadOnlyList<string> For(string iface, CpuSet workerCpus, IReadOnlyList<int>? queueCpus = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(iface);
        ArgumentNullException.ThrowIfNull(workerCpus);
        var lines = new List<string>();
        if (queueCpus is null)
        {
            if (RssTopology.TryReadQueueCpus(iface, out var read, out var reason))
            {
                queueCpus = read;
            }
            else
            {
                lines.Add($"# queue CPUs unknown ({reason}); assuming queue i is served by worker i's CPU");
            }
        }

        int stride = SourcePortSelector.ModuloStride(workerCpus.Count);
        int ignored = ~(stride - 1) & 0xffff;
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"# {workerCpus.Count} workers: local port mod {stride} = worker index; replies to those ports go to the worker's queue"));
        lines.Add($"ethtool -K {iface} ntuple on");
        for (int worker = 0; worker < workerCpus.Count; worker++)
        {
            int cpu = workerCpus[worker];
            int queue = queueCpus is null ? worker : IndexOf(queueCpus, cpu);
            if (queue < 0)
            {
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"# worker {worker} (CPU {cpu}): no queue of {iface} is served by CPU {cpu}; pin one with /proc/irq/N/smp_affinity_list"));
                continue;
            }

            foreach (var flow in new[] { "tcp4", "tcp6" })
            {
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"ethtool -N {iface} flow-type {flow} dst-port {worker} m 0x{ignored:x4} action {queue}   # worker {worker}, CPU {cpu}"));
            }
        }

        return lines;
    }

    private static int IndexOf(IReadOnlyList<int> list, int value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return i;
            }
        }

        return -1;
    }
}
