using System.Buffers.Binary;
using System.Globalization;
using Fastsock.Locality;
using Fastsock.Transport;

namespace Fastsock.Perf.Locality;

/// <summary>
/// RSS simulation: a NIC hashing every reply with Toeplitz (the Microsoft/Intel default key), a 128-entry indirection
/// table filled round-robin over N queues, queue q served by CPU q. For random remote tuples and a random connecting
/// core, which share of outbound connections gets its replies on the connecting core, per source-port strategy.
/// </summary>
internal static class RssSimulation
{
    private static readonly int[] CoreCounts = [2, 4, 8, 16, 32, 64];

    public static int Run(Arguments args)
    {
        int samples = args.Int("samples", 20_000, 100, 10_000_000);
        int seed = args.Int("seed", 1, 0, int.MaxValue);
        var inv = CultureInfo.InvariantCulture;
        var key = ActiveRun.DefaultKey;
        var hash = new ToeplitzHash(key);
        var range = new PortRange(32768, 60999); // the Linux default ip_local_port_range

        Console.WriteLine(string.Create(inv, $"RSS simulation: Toeplitz, default key {Convert.ToHexString(key).ToLowerInvariant()[..16]}…, 128-entry indirection table round-robin over N queues (queue q on CPU q), IPv4, local ports {range.First}-{range.Last}, {samples} random remote tuples per row, seed {seed}."));
        Console.WriteLine();
        Console.WriteLine("| cores N | 1/N | kernel | modulo, no ntuple rules | modulo + ethtool -N rules | rss | rss candidates tried per port |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int n in CoreCounts)
        {
            var random = new Random(seed + n);
            int[] queueCpus = [.. Enumerable.Range(0, n)];
            int[] table = [.. Enumerable.Range(0, 128).Select(i => i % n)];
            var topology = new RssTopology(key, table, queueCpus, "simulation");
            var selectors = Enumerable.Range(0, n).Select(w => new SourcePortSelector(SourcePortStrategy.Rss, range, w, n, w, topology)).ToArray();
            int stride = SourcePortSelector.ModuloStride(n);
            long kernelLocal = 0, moduloLocal = 0, moduloRuleLocal = 0, rssLocal = 0, rssPicked = 0;
            var remote = new byte[4];
            var local = new byte[4];
            for (int i = 0; i < samples; i++)
            {
                random.NextBytes(remote);
                random.NextBytes(local);
                int remotePort = random.Next(1, 65536);
                int core = i % n;

                // kernel: any port of the range, uniformly.
                int kernelPort = random.Next(range.First, range.Last + 1);
                kernelLocal += CpuOf(hash, topology, remote, local, remotePort, kernelPort) == core ? 1 : 0;

                // modulo: a port whose value mod 2^k is the worker index. The NIC still hashes it with Toeplitz unless
                // ethtool -N rules (dst-port with mask → queue) steer it; with the rules the queue is port mod 2^k.
                int p = random.Next(range.First, range.Last + 1);
                int moduloPort = p - (p % stride) + core;
                if (moduloPort > range.Last)
                {
                    moduloPort -= stride;
                }

                moduloLocal += CpuOf(hash, topology, remote, local, remotePort, moduloPort) == core ? 1 : 0;
                moduloRuleLocal += queueCpus[moduloPort % stride % n] == core ? 1 : 0;

                // rss: the runtime's own selector for worker `core`; the result is checked with the hash above.
                var selector = selectors[core];
                var scan = selector.BeginScan(remote, local, remotePort);
                if (selector.TryNext(ref scan, out int rssPort))
                {
                    rssPicked++;
                    rssLocal += CpuOf(hash, topology, remote, local, remotePort, rssPort) == core ? 1 : 0;
                }
            }

            long tried = selectors.Sum(s => s.CandidatesTried);
            long picked = selectors.Sum(s => s.PortsPicked);
            Console.WriteLine(string.Create(inv,
                $"| {n} | {100.0 / n:0.0} % | {Percent(kernelLocal, samples)} | {Percent(moduloLocal, samples)} | {Percent(moduloRuleLocal, samples)} | {Percent(rssLocal, samples)} | {(double)tried / Math.Max(picked, 1):0.00} (≈ {n} expected) |"));
        }

        return 0;
    }

    private static string Percent(long part, long whole) => string.Create(CultureInfo.InvariantCulture, $"{100.0 * part / whole:0.0} %");

    /// <summary>The CPU the NIC delivers the reply on: Toeplitz over (remote addr, local addr, remote port, local port).</summary>
    private static int CpuOf(ToeplitzHash hash, RssTopology topology, ReadOnlySpan<byte> remote, ReadOnlySpan<byte> local, int remotePort, int localPort)
    {
        Span<byte> input = stackalloc byte[12];
        remote.CopyTo(input);
        local.CopyTo(input[4..]);
        BinaryPrimitives.WriteUInt16BigEndian(input[8..], (ushort)remotePort);
        BinaryPrimitives.WriteUInt16BigEndian(input[10..], (ushort)localPort);
        return topology.CpuOf(hash.Hash(input));
    }
}
