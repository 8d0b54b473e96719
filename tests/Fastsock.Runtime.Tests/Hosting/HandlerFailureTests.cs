using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Hosting;

public sealed class HandlerFailureTests
{
    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_throwing_handler_closes_only_its_connection_and_its_neighbour_on_the_same_worker_keeps_working(string cores)
    {
        var set = CpuSet.Parse(cores);
        await using var server = await TestServers.StartAsync(EchoUnlessX, o => o.Cores = set);
        var endPoint = server.EndPoints[0];

        // Both connections are opened from the same CPU, so Cpu steering puts them on the same worker.
        int cpu = set[^1];
        using var good = await Clients.RunPinnedAsync(cpu, () => Clients.ConnectBlocking(endPoint));
        using var bad = await Clients.RunPinnedAsync(cpu, () => Clients.ConnectBlocking(endPoint));
        Assert.Equal("one"u8.ToArray(), await Clients.RoundTripAsync(good, "one"u8.ToArray()));

        await bad.SendAsync("X marks the bug"u8.ToArray().AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        var (bytes, _) = await Clients.ReadUntilClosedAsync(bad);
        Assert.Equal(0, bytes);

        var stats = server.GetStats();
        int worker = set.Count == 1 ? 0 : set.Count - 1;
        Assert.Equal(1, stats[worker].HandlerErrors);
        Assert.Equal(1, stats.Sum(s => s.HandlerErrors));
        Assert.Equal(2, stats[worker].Accepted);

        Assert.Equal("two"u8.ToArray(), await Clients.RoundTripAsync(good, "two"u8.ToArray()));
        Assert.Equal(1, server.GetStats()[worker].Active);
    }

    /// <summary>Echoes, but throws (a handler bug) when the first byte of the connection is 'X'.</summary>
    private static async Task EchoUnlessX(Connection connection)
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAtLeastAsync(1);
        if (!result.Buffer.IsEmpty && result.Buffer.FirstSpan[0] == (byte)'X')
        {
            throw new InvalidOperationException("handler bug for this connection");
        }

        input.AdvanceTo(result.Buffer.Start);
        await TestServers.Echo(connection);
    }
}
