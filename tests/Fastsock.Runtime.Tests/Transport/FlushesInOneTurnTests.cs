using System.Net.Sockets;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

/// <summary>
/// Flushes a handler makes in one worker turn leave in one send: the end-of-turn send takes everything flushed by then,
/// not only what the first flush had (a TLS close_notify after the last response went out as a send of its own).
/// Counted with <see cref="WorkerStats.SendCalls"/>.
/// </summary>
public sealed class FlushesInOneTurnTests
{
    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Two_flushes_in_one_turn_then_the_end_leave_in_one_send(string cores)
    {
        long? sendsBeforeAnswer = null;
        FastsockServer? started = null;
        await using var server = await TestServers.StartAsync(async connection =>
        {
            var input = connection.Transport.Input;
            var output = connection.Transport.Output;
            var request = await input.ReadAsync();
            input.AdvanceTo(request.Buffer.End);

            // Nothing below waits: both flushes and the end of the output happen in this turn of the worker.
            sendsBeforeAnswer = SendCalls(started!);
            await output.WriteAsync("first,"u8.ToArray());
            await output.WriteAsync("second"u8.ToArray());
            await output.CompleteAsync();
        }, o => o.Cores = CpuSet.Parse(cores));
        started = server;

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        await client.SendAsync("go"u8.ToArray().AsMemory()).AsTask().WaitAsync(Clients.Timeout);

        Assert.Equal("first,second", Encoding.ASCII.GetString(await Clients.ReadToEndAsync(client)));
        Assert.True(await Eventually.HoldsAsync(() => server.GetStats().Sum(s => s.Closed) == 1), "the connection did not close");
        Assert.NotNull(sendsBeforeAnswer);
        Assert.Equal(1, SendCalls(server) - sendsBeforeAnswer.Value);
    }

    private static long SendCalls(FastsockServer server) => server.GetStats().Sum(s => s.SendCalls);
}
