using System.Diagnostics;
using System.Globalization;
using Fastsock.Locality;
using Fastsock.Transport;

// Toeplitz hash cost and the rss strategy's port search, with the Microsoft verification key and a 128-entry
// indirection table spread round-robin over one queue per CPU (the common driver default).
var key = Convert.FromHexString("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa");
var hash = new ToeplitzHash(key);
var inv = CultureInfo.InvariantCulture;

Console.WriteLine("# Toeplitz hash, table-driven (one lookup per input byte)");
foreach (var (name, length) in new[] { ("IPv4 + ports (12 B)", 12), ("IPv6 + ports (36 B)", 36) })
{
    var input = new byte[length];
    new Random(1).NextBytes(input);
    uint sink = 0;
    for (int i = 0; i < 1_000_000; i++)
    {
        input[^1] = (byte)i;
        sink += hash.Hash(input);
    }

    const int Iterations = 20_000_000;
    var watch = Stopwatch.StartNew();
    for (int i = 0; i < Iterations; i++)
    {
        input[^1] = (byte)i;
        sink += hash.Hash(input);
    }

    watch.Stop();
    Console.WriteLine(string.Create(inv, $"{name,-22} {watch.Elapsed.TotalNanoseconds / Iterations,6:0.0} ns/hash   (checksum {sink:x8})"));
}

Console.WriteLine();
Console.WriteLine("# rss port pick: candidates tried per port picked, ns per pick (IPv4, ephemeral 32768-60999)");
PickRound(2, print: false); // warm up (tiered JIT) before measuring
Console.WriteLine("cpus  worker-slice  usable/slice  candidates/port  ns/pick  ns/candidate");
foreach (int cpus in new[] { 2, 4, 8, 16, 32, 64 })
{
    PickRound(cpus, print: true);
}

void PickRound(int cpus, bool print)
{
    var range = new PortRange(32768, 60999);
    var remote = new byte[] { 10, 0, 0, 7 };
    var local = new byte[] { 10, 0, 0, 1 };
    int[] queueCpus = [.. Enumerable.Range(0, cpus)];
    int[] table = [.. Enumerable.Range(0, 128).Select(i => i % cpus)];
    var topology = new RssTopology(key, table, queueCpus, "bench");
    long candidates = 0;
    long picks = 0;
    long usable = 0;
    long slice = 0;
    var watch = new Stopwatch();
    for (int worker = 0; worker < cpus; worker++)
    {
        var selector = new SourcePortSelector(SourcePortStrategy.Rss, range, worker, cpus, worker, topology);
        slice += selector.Slice.Count;

        // How many ports of the slice are usable toward this remote at all.
        var scan = selector.BeginScan(remote, local, 80);
        while (selector.TryNext(ref scan, out _))
        {
            usable++;
        }

        // Steady state: many picks, each a fresh scan (as one connect does), across remote ports.
        var measured = new SourcePortSelector(SourcePortStrategy.Rss, range, worker, cpus, worker, topology);
        watch.Start();
        for (int i = 0; i < 50_000; i++)
        {
            var s = measured.BeginScan(remote, local, 8000 + (i & 1023));
            measured.TryNext(ref s, out _);
        }

        watch.Stop();
        candidates += measured.CandidatesTried;
        picks += measured.PortsPicked;
    }

    if (!print)
    {
        return;
    }

    Console.WriteLine(string.Create(inv,
        $"{cpus,4}  {slice / cpus,12}  {usable / cpus,12}  {(double)candidates / picks,15:0.00}  {watch.Elapsed.TotalNanoseconds / picks,7:0.0}  {watch.Elapsed.TotalNanoseconds / candidates,12:0.0}"));
}
