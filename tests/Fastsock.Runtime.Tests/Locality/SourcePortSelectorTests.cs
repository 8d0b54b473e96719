using System.Net;
using Fastsock.Locality;
using Fastsock.Transport;

namespace Fastsock.Tests.Locality;

public sealed class SourcePortSelectorTests
{
    private static readonly PortRange Range = new(32768, 60999);

    /// <summary>A 128-entry table over 4 queues (round-robin, like most drivers' default) served by CPUs 0, 2, 1, 3.</summary>
    private static RssTopology FourQueues() =>
        new(ToeplitzHashTests.MicrosoftKey, [.. Enumerable.Range(0, 128).Select(i => i % 4)], [0, 2, 1, 3], "test");

    [Theory]
    [InlineData("10.0.0.7", "10.0.0.1", 80)]
    [InlineData("192.168.42.10", "192.168.42.11", 11211)]
    [InlineData("fd00::7", "fd00::1", 443)]
    public void Every_port_picked_by_rss_maps_to_the_workers_cpu(string remote, string local, int remotePort)
    {
        var rss = FourQueues();
        var remoteBytes = IPAddress.Parse(remote).GetAddressBytes();
        var localBytes = IPAddress.Parse(local).GetAddressBytes();
        for (int worker = 0; worker < 4; worker++)
        {
            int cpu = worker; // worker i pinned to CPU i
            var selector = new SourcePortSelector(SourcePortStrategy.Rss, Range, worker, 4, cpu, rss);
            var scan = selector.BeginScan(remoteBytes, localBytes, remotePort);
            int picked = 0;
            while (selector.TryNext(ref scan, out int port))
            {
                Assert.True(selector.Slice.Contains(port));
                var input = ToeplitzHashTests.Input(new IPEndPoint(IPAddress.Parse(remote), remotePort).ToString(), new IPEndPoint(IPAddress.Parse(local), port).ToString(), withPorts: true);
                uint hash = ToeplitzHashTests.BitwiseReference(ToeplitzHashTests.MicrosoftKey, input);
                Assert.Equal(cpu, rss.QueueCpus[rss.IndirectionTable[hash % 128]]);
                picked++;
            }

            // About a quarter of the slice's ports hash to any one of four queues.
            Assert.InRange(picked, selector.Slice.Count / 8, selector.Slice.Count / 2);
        }
    }

    [Fact]
    public void Rss_scan_resumes_after_the_last_port_picked_instead_of_reusing_it()
    {
        var selector = new SourcePortSelector(SourcePortStrategy.Rss, Range, 1, 4, 1, FourQueues());
        var remote = IPAddress.Parse("10.0.0.7").GetAddressBytes();
        var local = IPAddress.Parse("10.0.0.1").GetAddressBytes();
        var scan = selector.BeginScan(remote, local, 80);
        Assert.True(selector.TryNext(ref scan, out int first));
        scan = selector.BeginScan(remote, local, 80);
        Assert.True(selector.TryNext(ref scan, out int second));
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Rss_scan_for_a_cpu_no_queue_serves_finds_nothing()
    {
        var selector = new SourcePortSelector(SourcePortStrategy.Rss, Range, 0, 2, 9, FourQueues());
        var scan = selector.BeginScan(IPAddress.Loopback.GetAddressBytes(), IPAddress.Loopback.GetAddressBytes(), 80);
        Assert.False(selector.TryNext(ref scan, out _));
        Assert.Equal(selector.Slice.Count, selector.CandidatesTried);
    }

    [Fact]
    public void Rss_scan_visits_every_port_of_the_slice_exactly_once()
    {
        var allOnCpu1 = new RssTopology(ToeplitzHashTests.MicrosoftKey, [0, 0, 0, 0], [1], "test");
        var selector = new SourcePortSelector(SourcePortStrategy.Rss, Range, 1, 3, 1, allOnCpu1);
        var scan = selector.BeginScan(IPAddress.Loopback.GetAddressBytes(), IPAddress.Loopback.GetAddressBytes(), 80);
        var seen = new HashSet<int>();
        while (selector.TryNext(ref scan, out int port))
        {
            Assert.True(seen.Add(port));
        }

        Assert.Equal(selector.Slice.Count, seen.Count);
        Assert.All(seen, port => Assert.True(selector.Slice.Contains(port)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void Modulo_ports_carry_the_worker_index_in_their_low_bits_and_never_overlap(int workers)
    {
        int stride = SourcePortSelector.ModuloStride(workers);
        var seen = new HashSet<int>();
        for (int worker = 0; worker < workers; worker++)
        {
            var selector = new SourcePortSelector(SourcePortStrategy.Modulo, Range, worker, workers, worker, null);
            var scan = selector.BeginScan([], [], 80);
            int count = 0;
            while (selector.TryNext(ref scan, out int port))
            {
                Assert.Equal(worker, port % stride);
                Assert.True(Range.Contains(port));
                Assert.True(seen.Add(port));
                count++;
            }

            Assert.Equal(selector.CandidateCount, count);
            Assert.InRange(count, (Range.Count / stride) - 1, (Range.Count / stride) + 1);
        }
    }
}
