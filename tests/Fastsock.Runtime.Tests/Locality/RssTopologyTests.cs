using Fastsock.Locality;
using Fastsock.Transport;

namespace Fastsock.Tests.Locality;

public sealed class RssTopologyTests
{
    [Fact]
    public void Loopback_has_no_rss_and_the_reason_names_the_interface_and_the_call()
    {
        var topology = RssTopology.TryLoad(new OutboundOptions { Strategy = SourcePortStrategy.Rss, RssInterface = "lo" }, out var reason);
        Assert.Null(topology);
        Assert.NotNull(reason);
        Assert.Contains("lo", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Topology_given_in_options_needs_no_interface()
    {
        var topology = RssTopology.TryLoad(new OutboundOptions
        {
            RssKey = ToeplitzHashTests.MicrosoftKey,
            RssIndirectionTable = [0, 1, 0, 1],
            RssQueueCpus = [0, 1],
        }, out var reason);
        Assert.Null(reason);
        Assert.NotNull(topology);
        Assert.Equal("options", topology.Source);
        Assert.Equal(0, topology.CpuOf(0x51ccc178)); // 0x…78 % 4 = 0 → entry 0 → queue 0 → CPU 0
        Assert.Equal(1, topology.CpuOf(0x40207d3d)); // 0x…3d % 4 = 1 → entry 1 → queue 1 → CPU 1
    }

    [Fact]
    public void Indirection_table_naming_a_queue_without_a_cpu_is_refused()
    {
        var topology = RssTopology.TryLoad(new OutboundOptions
        {
            RssKey = ToeplitzHashTests.MicrosoftKey,
            RssIndirectionTable = [0, 3],
            RssQueueCpus = [0, 1],
        }, out var reason);
        Assert.Null(topology);
        Assert.Contains("queue 3", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Queue_cpus_come_from_the_interfaces_irqs_in_order()
    {
        var root = Directory.CreateTempSubdirectory("fastsock-proc");
        try
        {
            File.WriteAllText(Path.Combine(root.FullName, "interrupts"), """
                           CPU0       CPU1
                  24:          0          0  IR-PCI-MSI 524288-edge      eth0
                  25:        100          0  IR-PCI-MSI 524289-edge      eth0-TxRx-0
                  26:          0        200  IR-PCI-MSI 524290-edge      eth0-TxRx-1
                  27:          0        200  IR-PCI-MSI 524291-edge      eth1-TxRx-0
                 NMI:          0          0   Non-maskable interrupts
                """);
            foreach (var (irq, cpus) in new[] { ("25", "1"), ("26", "0-1"), ("27", "0") })
            {
                Directory.CreateDirectory(Path.Combine(root.FullName, "irq", irq));
                File.WriteAllText(Path.Combine(root.FullName, "irq", irq, "smp_affinity_list"), cpus + "\n");
            }

            Assert.True(RssTopology.TryReadQueueCpus("eth0", out var queueCpus, out var reason, root.FullName), reason);
            Assert.Equal([1, 0], queueCpus!);
            Assert.False(RssTopology.TryReadQueueCpus("eth9", out _, out reason, root.FullName));
            Assert.Contains("eth9", reason, StringComparison.Ordinal);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
