using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.Tests.Support;
using Fastsock.Transport.Friends;

namespace Fastsock.Tests.Transport.Friends;

/// <summary>TCP friends in the runtime: the programs load, attach to a cgroup, redirect loopback pairs in it, and go away.</summary>
public sealed class TcpFriendsTests
{
    [FriendsTheory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_loopback_pair_in_the_cgroup_moves_its_bytes_by_redirect_byte_exact_both_ways(string cores)
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        await using (var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = Fastsock.Locality.CpuSet.Parse(cores);
            o.TcpFriends.Enabled = true;
        }))
        {
            Assert.Equal(cgroup.Path, server.TcpFriendsCgroup);
            Assert.Equal([TcpFriends.SockOpsName], cgroup.AttachedPrograms().Select(p => p.Name));

            var payload = FriendsTraffic.Payload(1024 * 1024, 1);
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(server.EndPoints[0]);
            var echoed = FriendsTraffic.HashToEndAsync(client);
            await FriendsTraffic.SendInRandomPiecesAsync(client, payload, 2);
            var (bytes, hash) = await echoed;

            Assert.Equal(payload.Length, bytes);
            Assert.Equal(SHA256.HashData(payload), hash);
            var friends = server.Friends!;
            Assert.True(FriendsTraffic.Sum(friends.ReadCounter(FriendsPrograms.CounterFriends)) >= 2, "the client and its accepted socket did not both join the map");

            // Within the budget every byte each way went by redirect, so at least twice the payload (both directions).
            ulong redirected = FriendsTraffic.Sum(friends.ReadCounter(FriendsPrograms.CounterBytesRedirected));
            Assert.True(redirected >= 2UL * (ulong)payload.Length, $"only {redirected} bytes were redirected for {2 * payload.Length} echoed");
        }

        // Stopped: nothing of ours stays on the cgroup.
        Assert.Empty(cgroup.AttachedPrograms());
    }

    [FriendsFact]
    public async Task A_pair_past_its_redirect_budget_goes_on_through_tcp_byte_exact()
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.TcpFriends.Enabled = true;
        });
        var payload = FriendsTraffic.Payload(4 * FriendsPrograms.RedirectBudget, 5);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]);
        var echoed = FriendsTraffic.HashToEndAsync(client);
        await FriendsTraffic.SendInRandomPiecesAsync(client, payload, 6);
        var (bytes, hash) = await echoed;

        Assert.Equal(payload.Length, bytes);
        Assert.Equal(SHA256.HashData(payload), hash);

        // Each direction redirected at least its budget. The echo back goes to the test's socket, which never credits
        // the server's budget (FriendCredit is ours): past 4 MiB (and one send) it came through TCP.
        ulong redirected = FriendsTraffic.Sum(server.Friends!.ReadCounter(FriendsPrograms.CounterBytesRedirected));
        Assert.True(redirected >= 2UL * FriendsPrograms.RedirectBudget, $"{redirected} bytes redirected, less than the two budgets");
        ulong echoedThroughTcp = FriendsTraffic.BytesReceivedByTcp(client);
        Assert.True(echoedThroughTcp >= (ulong)(payload.Length - (2 * FriendsPrograms.RedirectBudget)),
            $"only {echoedThroughTcp} of the {payload.Length} echoed bytes came through TCP: the budget did not stop the redirect");
    }

    [FriendsFact]
    public async Task A_connection_to_a_peer_outside_the_cgroup_uses_tcp_and_works()
    {
        // The listener is created before the test joins the cgroup: it and its accepted sockets stay outside.
        using var outside = FriendsTraffic.Listen();
        using var cgroup = FriendsCgroup.CreateAndJoin();
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.TcpFriends.Enabled = true;
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, FriendsTraffic.PortOf(outside)));
        using var accepted = await outside.AcceptAsync().WaitAsync(Clients.Timeout);

        var payload = FriendsTraffic.Payload(1024 * 1024, 3);
        var received = FriendsTraffic.HashToEndAsync(accepted);
        await FriendsTraffic.SendInRandomPiecesAsync(client, payload, 4);
        var (bytes, hash) = await received;

        Assert.Equal(payload.Length, bytes);
        Assert.Equal(SHA256.HashData(payload), hash);
        Assert.Equal(0UL, FriendsTraffic.Sum(server.Friends!.ReadCounter(FriendsPrograms.CounterBytesRedirected)));
    }

    [Fact]
    public async Task A_cgroup_that_does_not_exist_turns_friends_off_and_the_server_serves_as_before()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.TcpFriends.Enabled = true;
            o.TcpFriends.Cgroup = $"/fastsock-no-such-cgroup-{Guid.NewGuid():N}";
        });

        Assert.Null(server.TcpFriendsCgroup);
        Assert.Empty(server.GetTcpFriendsStats());
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]);
        Assert.Equal("ping"u8.ToArray(), await Clients.RoundTripAsync(client, "ping"u8.ToArray()));
    }
}
