using System.Net;
using System.Net.Sockets;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport;

public sealed class ConnectionReuseTests
{
    private const int Cycles = 10_000;
    private const int Warmup = 1_000;
    private const int ConcurrentClients = 4;

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Ten_thousand_connect_close_cycles_leave_nothing_open_and_reuse_connections_and_buffers(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Parse(cores));
        var endPoint = server.EndPoints[0];

        await RunCyclesAsync(endPoint, Warmup);
        Assert.True(await Eventually.HoldsAsync(() => server.GetStats().Sum(s => s.Active) == 0), "connections still open after the warm-up");
        long slabsWarm = server.GetStats().Sum(s => s.PoolSlabs);
        long createdWarm = Created(server);

        await RunCyclesAsync(endPoint, Cycles - Warmup);
        Assert.True(await Eventually.HoldsAsync(() => server.GetStats().Sum(s => s.Active) == 0), "connections still open after the cycles");

        var stats = server.GetStats();
        Assert.Equal(Cycles, stats.Sum(s => s.Accepted));
        Assert.Equal(Cycles, stats.Sum(s => s.Closed));
        Assert.Equal(0, stats.Sum(s => s.HandlerErrors));
        Assert.True(await Eventually.HoldsAsync(() => server.GetStats().Sum(s => s.PoolBlocksInUse) == 0), $"{server.GetStats().Sum(s => s.PoolBlocksInUse)} pool blocks still in use");

        // Buffers are reused: the slab count after 10,000 connections is what ~1,000 needed, give or take a slab
        // per worker for a moment of higher concurrency. One leaked block per connection would add ~300 slabs.
        long slabs = server.GetStats().Sum(s => s.PoolSlabs);
        Assert.True(slabs <= slabsWarm + stats.Count, $"slabs grew from {slabsWarm} to {slabs}");

        long created = Created(server);
        // Reused, not created per connection: every close path hands its object back, so the count is what was
        // open at once during the warm-up (a few per client), and 9,000 more cycles create (almost) none.
        Assert.True(created <= 4 * ConcurrentClients * stats.Count, $"{created} connection objects created for {Cycles} connections ({createdWarm} after {Warmup})");
        Assert.True(created - createdWarm <= ConcurrentClients, $"{created - createdWarm} connection objects created after the warm-up");
    }

    private static long Created(FastsockServer server)
    {
        long created = 0;
        foreach (var (worker, _, _) in server.Workers)
        {
            created += server.ListenerGroups[0].ListenerFor(worker)!.Connections.Created;
        }

        return created;
    }

    private static async Task RunCyclesAsync(IPEndPoint endPoint, int cycles)
    {
        int next = 0;
        var one = new byte[] { 42 };
        async Task ClientLoop()
        {
            while (Interlocked.Increment(ref next) <= cycles)
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(endPoint).WaitAsync(Clients.Timeout);
                Assert.Equal(one, await Clients.RoundTripAsync(socket, one));

                // Close in step with the server (FIN, then wait for its FIN), so a cycle ends when the server's does
                // and the number of connections open at once stays near the number of clients.
                socket.Shutdown(SocketShutdown.Send);
                Assert.Empty(await Clients.ReadToEndAsync(socket));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, ConcurrentClients).Select(_ => Task.Run(ClientLoop))).WaitAsync(TimeSpan.FromMinutes(5));
    }
}
