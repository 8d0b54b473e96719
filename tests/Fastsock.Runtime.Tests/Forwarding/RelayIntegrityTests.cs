using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

public sealed class RelayIntegrityTests
{
    private const long OneGiB = 1L << 30;

    [Trait("Category", "Slow")]
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
        await using var relay = await RelayServer.StartAsync((IPEndPoint)listener.LocalEndpoint, mode, beforeForward: _ => gate.Task);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        var early = new byte[300_000];
        new Random(5).NextBytes(early);
        await client.SendAsync(early.AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        Assert.True(await Eventually.HoldsAsync(() => relay.Stats.BytesReceived == early.Length));
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

    [Fact]
    public async Task Output_the_handler_flushed_before_the_forward_reaches_the_client_first_and_splice_is_still_used()
    {
        var allowed = CpuSet.Allowed();
        await using var backend = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Of(allowed[^1]));
        var greeting = "HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray();
        await using var relay = await RelayServer.StartAsync(backend.EndPoints[0], ForwardingMode.Splice, beforeForward: async c =>
        {
            await c.Transport.Output.WriteAsync(greeting); // flushed, sent only at the end of the loop turn
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        Assert.Equal(greeting, await Clients.ReceiveExactlyAsync(client, greeting.Length));

        var (received, sentHash, receivedHash) = await StreamingClient.SendAndReceiveAsync(client, 16 << 20, 21);

        Assert.Equal(16 << 20, received);
        Assert.Equal(sentHash, receivedHash);
        Assert.True(await relay.IdleAsync(1));
        Assert.True(relay.Results.TryDequeue(out var result));
        Assert.Equal(ForwardingMode.Splice, result.Mode);
        Assert.Null(result.Error);
    }

    [Fact]
    public async Task When_the_kernel_refuses_splice_the_forward_falls_back_to_copy_without_losing_buffered_bytes()
    {
        var allowed = CpuSet.Allowed();
        await using var backend = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Of(allowed[^1]));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new ForwardingOptions { SimulateSpliceUnsupported = true };
        await using var relay = await RelayServer.StartAsync(backend.EndPoints[0], ForwardingMode.Splice, options, _ => gate.Task);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        var early = new byte[100_000];
        new Random(7).NextBytes(early);
        await client.SendAsync(early.AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        Assert.True(await Eventually.HoldsAsync(() => relay.Stats.BytesReceived == early.Length));
        gate.SetResult();
        Assert.Equal(early, await Clients.ReceiveExactlyAsync(client, early.Length));

        var (received, sentHash, receivedHash) = await StreamingClient.SendAndReceiveAsync(client, 64 << 20, 31);

        Assert.Equal(64 << 20, received);
        Assert.Equal(sentHash, receivedHash);
        Assert.True(await relay.IdleAsync(1));
        Assert.True(relay.Results.TryDequeue(out var result));
        Assert.Equal(ForwardingMode.Copy, result.Mode);
        Assert.Null(result.Error);
        Assert.Equal(early.Length + (64 << 20), result.FirstToSecond);
        Assert.Equal(0, relay.Stats.BytesSpliced);
        Assert.False(Fastsock.Transport.Forwarding.SpliceForwarder.Unsupported); // a simulated refusal does not disable splice for the process
    }
}
