using Fastsock.Locality;

namespace Fastsock.Tests.Locality;

public sealed class NtupleRulesTests
{
    [Fact]
    public void Three_workers_get_rules_matching_their_port_residue_mod_four_on_their_cpus_queue()
    {
        var rules = NtupleRules.For("eth0", CpuSet.Of(0, 1, 2), queueCpus: [2, 0, 1]);
        Assert.Contains("ethtool -K eth0 ntuple on", rules);
        Assert.Contains(rules, r => r.StartsWith("ethtool -N eth0 flow-type tcp4 dst-port 0 m 0xfffc action 1 ", StringComparison.Ordinal));
        Assert.Contains(rules, r => r.StartsWith("ethtool -N eth0 flow-type tcp4 dst-port 1 m 0xfffc action 2 ", StringComparison.Ordinal));
        Assert.Contains(rules, r => r.StartsWith("ethtool -N eth0 flow-type tcp6 dst-port 2 m 0xfffc action 0 ", StringComparison.Ordinal));
        Assert.Equal(6, rules.Count(r => r.StartsWith("ethtool -N", StringComparison.Ordinal)));
    }

    [Fact]
    public void Worker_whose_cpu_serves_no_queue_gets_a_note_instead_of_a_rule()
    {
        var rules = NtupleRules.For("eth0", CpuSet.Of(0, 5), queueCpus: [0]);
        Assert.Contains(rules, r => r.Contains("worker 1 (CPU 5): no queue", StringComparison.Ordinal));
        Assert.DoesNotContain(rules, r => r.Contains("dst-port 1 ", StringComparison.Ordinal));
    }
}
