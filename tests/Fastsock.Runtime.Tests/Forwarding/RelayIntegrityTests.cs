using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

public sealed class RelayIntegrityTests
{
    private const long OneGiB = 1L << 30;

    [Theory]
    [InlineData(ForwardingMode.Copy, 11)]
    [InlineData(ForwardingMode.Splice, 12)]
    public async Task One_gibibyte_through_the_relay_to_an_echo_backend_comes_back_byte_exact(ForwardingMode mode, int seed)
    {
        var allowed = CpuSet.Allowed();
        await using var backend = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Of(allowed[^1]));
        await using var relay = await RelayServer.StartAsync(backend.EndPoints[0], mode);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        await relay.Forwarding.Task.WaitAsync(Clients.Timeout); // nothing sent before the handoff: every byte is spliced

        var (received, sentHash, receivedHash) = await StreamingClient.SendAndReceiveAsync(client, OneGiB, seed);

        Assert.Equal(OneGiB, received);
        Assert.Equal(sentHash, receivedHash);
        Assert.True(await relay.IdleAsync(1), "the relay's connections did not close");
        Assert.True(relay.Results.TryDequeue(out var result));
        Assert.Null(result.Error);
        Assert.Equal(mode, result.Mode);
        Assert.Equal(OneGiB, result.FirstToSecond);
        Assert.Equal(OneGiB, result.SecondToFirst);
        var stats = relay.Stats;
        if (mode == ForwardingMode.Splice)
        {
            Assert.Equal(2 * OneGiB, stats.BytesSpliced);
            Assert.Equal(0, stats.BytesCopied);
            Assert.Equal(stats.KernelPipesOpen, stats.KernelPipesCached); // both pipes back in the cache, none leaked
            Assert.Equal(2, stats.KernelPipesOpen);
        }
        else
        {
            Assert.Equal(2 * OneGiB, stats.BytesCopied);
            Assert.Equal(0, stats.BytesSpliced);
            Assert.Equal(0, stats.KernelPipesOpen);
        }
    }

    [Theory]
    [InlineData(ForwardingMode.Copy)]
    [InlineData(ForwardingMode.Splice)]
    public async Task Bytes_the_client_sent_before_the_forward_started_arrive_first_and_in_order(ForwardingMode mode)
    {
        // The relay holds the forward until the client's bytes sit in its input pipe: they must go out first.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var relay = await RelayServer.StartAsync((IPEndPoint)listener.LocalEndpoint, mode, gate: gate.Task);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        var early = new byte[300_000];
        new Random(5).NextBytes(early);
        await client.SendAsync(early.AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        Assert.True(await Clients.EventuallyAsync(() => relay.Stats.BytesReceived == early.Length));
        gate.SetResult();
        var late = new byte[200_000];
        new Random(6).NextBytes(late);
        await relay.Forwarding.Task.WaitAsync(Clients.Timeout);
        await client.SendAsync(late.AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        using var backend = await listener.AcceptSocketAsync().WaitAsync(Clients.Timeout);
        client.Shutdown(SocketShutdown.Send);

        var got = await Clients.ReadToEndAsync(backend);
        backend.Shutdown(SocketShutdown.Send);

        Assert.Equal([.. early, .. late], got);
        Assert.Empty(await Clients.ReadToEndAsync(client));
        Assert.True(await relay.IdleAsync(1));
        Assert.True(relay.Results.TryDequeue(out var result));
        Assert.Null(result.Error);
        Assert.Equal(mode, result.Mode);
        Assert.Equal(early.Length + late.Length, result.FirstToSecond);
        if (mode == ForwardingMode.Splice)
        {
            Assert.Equal(early.Length, relay.Stats.BytesCopied); // the buffered bytes, written before any splice
            Assert.Equal(late.Length, relay.Stats.BytesSpliced);
        }
    }
}
