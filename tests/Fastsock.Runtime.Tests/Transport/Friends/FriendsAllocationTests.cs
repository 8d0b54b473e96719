using Fastsock.Tests.Http.Server;
using Fastsock.Tests.Support;
using Fastsock.Transport.Friends;
using Xunit.Abstractions;

namespace Fastsock.Tests.Transport.Friends;

/// <summary>
/// With TCP friends on, keep-alive requests still allocate nothing in the whole process, while the server's reads credit
/// the client's redirect budget (FriendCredit runs at every MiB read: the probe sends well over 2 MiB of requests).
/// </summary>
public sealed class FriendsAllocationTests(ITestOutputHelper output)
{
    [FriendsFact]
    public async Task Keep_alive_requests_with_friends_on_allocate_nothing_in_the_process_while_reads_credit_the_peer()
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        var (server, _) = await LoopTestApp.StartAsync(o =>
        {
            o.Cores = CoreSets.First;
            o.TcpFriends.Enabled = true;
        });
        await using var _server = server;
        Assert.NotNull(server.TcpFriendsCgroup);

        await KeepAliveAllocationProbe.AssertAllocatesNothingAsync(server.EndPoints[0], batch: 16, output);

        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
        long read = server.GetStats().Sum(w => w.BytesReceived);
        Assert.True(read > 2 * FriendCredit.Batch, $"the server read {read} bytes: too few for the credit to have run");
        Assert.True(FriendsTraffic.Sum(server.Friends!.ReadCounter(FriendsPrograms.CounterBytesRedirected)) > 0, "nothing was redirected: the probe's connection was not a friend");
    }
}
