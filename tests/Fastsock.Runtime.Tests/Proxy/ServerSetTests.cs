using System.Net;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;

namespace Fastsock.Tests.Proxy;

public sealed class ServerSetTests
{
    private static ServerSettings Server(string name, int port, int weight = 1) =>
        new(name, new ServerAddress(ServerKind.Tcp, new IPEndPoint(IPAddress.Loopback, port), null), weight, ProxyHeaderMode.None);

    private static BackendSettings Backend(params ServerSettings[] servers) =>
        new("b", BalanceAlgorithm.RoundRobin, servers, null, BackendConnectionPool.Unlimited, TimeSpan.FromSeconds(10));

    [Fact]
    public void A_server_kept_by_name_and_address_keeps_its_state_and_takes_its_new_weight()
    {
        var pool = new BackendPool(Backend(Server("a", 9001), Server("b", 9002)), workerCount: 1);
        var a = pool.Find("a")!;
        a.IsUp = false;

        var change = pool.ApplyServers([Server("a", 9001, weight: 7), Server("c", 9003)]);

        Assert.Same(a, pool.Find("a"));
        Assert.False(a.IsUp);
        Assert.Equal(7, a.Weight);
        Assert.Equal(["a", "c"], pool.Servers.Select(s => s.Settings.Name));
        Assert.Equal(["c"], change.Added.Select(s => s.Settings.Name));
        var removed = Assert.Single(change.Removed);
        Assert.Equal("b", removed.Settings.Name);
        Assert.True(removed.IsRetired);
        Assert.True(removed.ShouldCloseIdle);
        Assert.NotEqual(removed.Index, pool.Find("c")!.Index); // a never-used slot first: b's last sessions keep theirs
    }

    [Fact]
    public void A_weight_and_state_set_by_the_runtime_api_stay_when_dns_or_a_reload_republish_the_server_until_its_configured_weight_changes()
    {
        var pool = new BackendPool(Backend(Server("a", 9001, weight: 2)), workerCount: 1);
        var a = pool.Find("a")!;
        a.AdminState = ServerAdminState.Drain;
        Assert.Equal(2, a.SetRuntimeWeight(9));

        pool.ApplyServers([Server("a", 9001, weight: 2)]); // DNS answered the same address again
        Assert.Same(a, pool.Find("a"));
        Assert.Equal((9, ServerAdminState.Drain), (a.Weight, a.AdminState));

        pool.Apply(Backend(Server("a", 9001, weight: 2), Server("b", 9002))); // a reload that keeps a's configured weight
        Assert.Equal(9, a.Weight);
        Assert.Equal(9, a.SetRuntimeWeight(7)); // a second change replaces the first
        pool.ApplyServers([Server("a", 9001, weight: 2)]);
        Assert.Equal(7, a.Weight);

        pool.Apply(Backend(Server("a", 9001, weight: 5))); // the configured weight changed: it applies
        Assert.Equal(5, a.Weight);
        pool.ApplyServers([Server("a", 9001, weight: 5)]);
        Assert.Equal((5, ServerAdminState.Drain), (a.Weight, a.AdminState));
    }

    [Fact]
    public void A_server_whose_address_changed_is_a_new_server()
    {
        var pool = new BackendPool(Backend(Server("a", 9001)), workerCount: 1);
        var before = pool.Find("a")!;
        pool.ApplyServers([Server("a", 9011)]);
        Assert.NotSame(before, pool.Find("a"));
        Assert.True(before.IsRetired);
    }

    [Fact]
    public void A_worker_builds_a_new_balancer_after_a_change_and_keeps_its_own_otherwise()
    {
        var pool = new BackendPool(Backend(Server("a", 9001), Server("b", 9002)), workerCount: 2);
        var first = pool.BalancerFor(0);
        Assert.Same(first, pool.BalancerFor(0));
        Assert.NotSame(first, pool.BalancerFor(1));

        pool.ApplyServers([Server("b", 9002)]);
        var second = pool.BalancerFor(0);
        Assert.NotSame(first, second);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("b", second.Pick(0)!.Settings.Name);
        }
    }

    [Fact]
    public void Connections_opened_before_a_change_are_counted_down_where_the_new_balancer_looks()
    {
        var pool = new BackendPool(Backend(Server("a", 9001), Server("b", 9002)) with { Balance = BalanceAlgorithm.LeastConn }, workerCount: 1);
        var old = pool.BalancerFor(0);
        var a = pool.Find("a")!;
        old.OnOpened(a);
        old.OnOpened(a);
        pool.ApplyServers([Server("a", 9001), Server("b", 9002), Server("c", 9003)]);
        var fresh = pool.BalancerFor(0);
        Assert.NotEqual("a", fresh.Pick(0)!.Settings.Name); // a still has two open

        old.OnClosed(a);
        old.OnClosed(a);
        var picks = Enumerable.Range(0, 3).Select(_ => fresh.Pick(0)!.Settings.Name).ToHashSet();
        Assert.Contains("a", picks);
    }

    [Theory]
    [InlineData("Drain")]
    [InlineData("Maint")]
    public void A_server_out_of_rotation_by_admin_state_is_not_picked(string adminState)
    {
        var state = Enum.Parse<ServerAdminState>(adminState);
        var pool = new BackendPool(Backend(Server("a", 9001), Server("b", 9002)), workerCount: 1);
        pool.Find("a")!.AdminState = state;
        var balancer = pool.BalancerFor(0);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal("b", balancer.Pick(0)!.Settings.Name);
        }

        pool.Find("a")!.AdminState = ServerAdminState.Ready;
        Assert.Contains("a", Enumerable.Range(0, 4).Select(_ => balancer.Pick(0)!.Settings.Name));
    }

    [Fact]
    public void More_servers_than_slots_are_refused_and_nothing_changes()
    {
        var pool = new BackendPool(Backend(Server("a", 9001)), workerCount: 1);
        var before = pool.Current;
        var many = Enumerable.Range(0, BackendPool.MaxServers + 1).Select(i => Server($"s{i}", 10000 + i)).ToArray();
        Assert.Throws<InvalidOperationException>(() => pool.ApplyServers(many));
        Assert.Same(before, pool.Current);
        Assert.False(pool.Find("a")!.IsRetired);
    }

    [Fact]
    public void Slots_of_removed_servers_are_reused_once_every_slot_has_been_used()
    {
        var pool = new BackendPool(Backend(Server("s0", 10000)), workerCount: 1);
        for (int round = 1; round <= BackendPool.MaxServers + 5; round++)
        {
            pool.ApplyServers([Server($"s{round}", 10000 + round)]);
            var server = Assert.Single(pool.Servers);
            Assert.InRange(server.Index, 0, BackendPool.MaxServers - 1);
            Assert.Same(server, pool.ServerAt(server.Index));
            Assert.Same(server, pool.RouteOf(server).Server);
        }
    }
}
