using System.Net;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Tests.Proxy;

public sealed class BalancerTests
{
    private static ServerState[] Servers(params int[] weights) =>
        [.. weights.Select((w, i) => new ServerState(new ServerSettings($"s{i}", new ServerAddress(ServerKind.Tcp, new IPEndPoint(IPAddress.Loopback, 9000 + i), null), w, ProxyHeaderMode.None), i))];

    private static int[] Count(Balancer balancer, ServerState[] servers, int picks, Func<int, ulong>? hash = null)
    {
        var counts = new int[servers.Length];
        for (int i = 0; i < picks; i++)
        {
            counts[balancer.Pick(hash?.Invoke(i) ?? 0)!.Index]++;
        }

        return counts;
    }

    [Fact]
    public void Round_robin_follows_weights_exactly_and_interleaves()
    {
        var servers = Servers(5, 1, 1);
        var balancer = Balancer.Create(BalanceAlgorithm.RoundRobin, servers, seed: 1);
        var order = Enumerable.Range(0, 7).Select(_ => balancer.Pick(0)!.Settings.Name).ToArray();
        Assert.Equal(["s0", "s0", "s1", "s0", "s2", "s0", "s0"], order);
        Assert.Equal([500, 100, 100], Count(balancer, servers, 700));
    }

    [Theory]
    [InlineData("roundrobin")]
    [InlineData("leastconn")]
    [InlineData("source")]
    [InlineData("random")]
    public void Down_and_zero_weight_servers_get_nothing_and_all_down_gives_none(string algorithm)
    {
        var servers = Servers(1, 1, 0);
        var balancer = Balancer.Create(Enum.Parse<BalanceAlgorithm>(algorithm, ignoreCase: true), servers, seed: 7);
        servers[1].IsUp = false;
        var counts = Count(balancer, servers, 1000, i => (ulong)i * 0x9E3779B97F4A7C15UL);
        Assert.Equal([1000, 0, 0], counts);
        servers[0].IsUp = false;
        Assert.Null(balancer.Pick(42));
    }

    [Fact]
    public void Least_conn_picks_the_server_with_fewest_open_connections_for_its_weight()
    {
        var servers = Servers(1, 2);
        var balancer = Balancer.Create(BalanceAlgorithm.LeastConn, servers, seed: 1);
        var opened = new int[2];
        for (int i = 0; i < 30; i++)
        {
            var picked = balancer.Pick(0)!;
            balancer.OnOpened(picked);
            opened[picked.Index]++;
        }

        // Weighted 1:2, so 10 and 20 open connections.
        Assert.Equal([10, 20], opened);
        for (int i = 0; i < 10; i++)
        {
            balancer.OnClosed(servers[1]);
        }

        Assert.Equal(servers[1], balancer.Pick(0));
    }

    [Fact]
    public void Source_keeps_each_client_on_its_server_and_moves_only_the_clients_of_a_server_that_goes_down()
    {
        var servers = Servers(1, 1, 1, 1);
        var balancer = Balancer.Create(BalanceAlgorithm.Source, servers, seed: 1);
        var clients = Enumerable.Range(0, 4000).Select(i => (ulong)i * 0xD6E8FEB86659FD93UL).ToArray();
        var before = clients.Select(c => balancer.Pick(c)!.Index).ToArray();
        Assert.Equal(before, clients.Select(c => balancer.Pick(c)!.Index));
        Assert.All(Enumerable.Range(0, 4), s => Assert.InRange(before.Count(b => b == s), 800, 1200));

        servers[2].IsUp = false;
        var after = clients.Select(c => balancer.Pick(c)!.Index).ToArray();
        for (int i = 0; i < clients.Length; i++)
        {
            if (before[i] != 2)
            {
                Assert.Equal(before[i], after[i]);
            }
            else
            {
                Assert.NotEqual(2, after[i]);
            }
        }
    }

    [Fact]
    public void Random_spreads_by_weight_and_prefers_the_less_busy_of_two_draws()
    {
        var servers = Servers(1, 3);
        var balancer = Balancer.Create(BalanceAlgorithm.Random, servers, seed: 3);
        var counts = Count(balancer, servers, 40_000);
        Assert.InRange(counts[1] / (double)counts[0], 2.0, 30.0); // weight 3:1, sharpened by two draws

        for (int i = 0; i < 100; i++)
        {
            balancer.OnOpened(servers[1]);
        }

        // s1 is far busier now: whenever the draws differ, s0 wins.
        Assert.True(Count(balancer, servers, 1000)[0] > 300);
    }
}
