using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

/// <summary><see cref="ConnectionForwarder.SpliceExactlyAsync"/>: exactly N bytes one way, then both connections go on.</summary>
public sealed class BoundedSpliceTests
{
    [Fact]
    public async Task Exactly_n_bytes_are_spliced_after_flushed_output_and_the_bytes_after_them_stay_for_the_reader()
    {
        const int Count = 3 * 1024 * 1024 + 17;
        var body = RandomNumberGenerator.GetBytes(Count);
        using var backend = new Socket(SocketType.Stream, ProtocolType.Tcp);
        backend.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        backend.Listen();
        var received = Task.Run(async () =>
        {
            using var peer = await backend.AcceptAsync();
            var head = await Clients.ReceiveExactlyAsync(peer, 3);
            var rest = await Clients.ReceiveExactlyAsync(peer, Count);
            return (Encoding.ASCII.GetString(head), rest);
        });

        var result = new TaskCompletionSource<ForwardResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async client =>
        {
            var upstream = await FastsockConnector.ConnectAsync(backend.LocalEndPoint!);
            var input = client.Transport.Input;
            var read = await input.ReadAtLeastAsync(4);
            input.AdvanceTo(read.Buffer.GetPosition(4)); // "SEND"; body bytes read with it stay in the pipe
            upstream.Transport.Output.Write("OK\n"u8);
            await upstream.Transport.Output.FlushAsync(); // pending output: the splice must wait for it
            var forward = await ConnectionForwarder.SpliceExactlyAsync(client, upstream, Count);
            result.TrySetResult(forward);
            var tail = await input.ReadAtLeastAsync(4);
            bool tailOk = Encoding.ASCII.GetString(tail.Buffer.Slice(0, 4).ToArray()) == "TAIL";
            input.AdvanceTo(tail.Buffer.GetPosition(4));
            await client.Transport.Output.WriteAsync(tailOk ? "DONE"u8.ToArray() : "BAD!"u8.ToArray());
            await Task.Delay(100);
            await input.CompleteAsync();
            await client.Transport.Output.CompleteAsync();
            await upstream.Transport.Input.CompleteAsync();
            await upstream.Transport.Output.CompleteAsync();
        }, o => o.Cores = CoreSets.First);

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        await socket.SendAsync("SEND"u8.ToArray()).WithinTimeout();
        await socket.SendAsync(body).WithinTimeout();
        await socket.SendAsync("TAIL"u8.ToArray()).WithinTimeout();
        Assert.Equal("DONE", Encoding.ASCII.GetString(await Clients.ReceiveExactlyAsync(socket, 4)));

        var forward = await result.Task.WaitAsync(Clients.Timeout);
        Assert.Null(forward.Error);
        Assert.Equal(ForwardingMode.Splice, forward.Mode);
        Assert.Equal(Count, forward.FirstToSecond);
        var (head, rest) = await received.WaitAsync(Clients.Timeout);
        Assert.Equal("OK\n", head);
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(rest));
        Assert.True(server.GetStats()[0].BytesSpliced >= Count - (1024 * 1024), $"spliced {server.GetStats()[0].BytesSpliced} of {Count}");
    }

    [Fact]
    public async Task A_source_that_ends_before_n_bytes_fails_the_splice_and_the_target_gets_every_byte_then_an_orderly_close()
    {
        using var backend = new Socket(SocketType.Stream, ProtocolType.Tcp);
        backend.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        backend.Listen();
        var backendSaw = Task.Run(async () =>
        {
            using var peer = await backend.AcceptAsync();
            return await Clients.ReadUntilClosedAsync(peer);
        });

        var result = new TaskCompletionSource<ForwardResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async client =>
        {
            var upstream = await FastsockConnector.ConnectAsync(backend.LocalEndPoint!);
            result.TrySetResult(await ConnectionForwarder.SpliceExactlyAsync(client, upstream, 1_000_000));
            await client.Transport.Input.CompleteAsync();
            await client.Transport.Output.CompleteAsync();
            await upstream.Transport.Input.CompleteAsync();
            await upstream.Transport.Output.CompleteAsync();
        }, o => o.Cores = CoreSets.First);

        using (var socket = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(server.EndPoints[0]).WithinTimeout();
            await socket.SendAsync(new byte[1000]).WithinTimeout();
            socket.Shutdown(SocketShutdown.Send);
            await Clients.ReadUntilClosedAsync(socket);
        }

        var forward = await result.Task.WaitAsync(Clients.Timeout);
        Assert.NotNull(forward.Error);
        Assert.Contains("before the end", forward.Error!.Message, StringComparison.Ordinal);
        Assert.Equal((true, false, false, 1000L), (forward.SourceEnded, forward.TargetFailed, forward.SourceTimedOut, forward.FirstToSecond));

        // Only the source was aborted: the target, given back to its owner, was closed with a FIN after what it got.
        var (bytes, reset) = await backendSaw.WaitAsync(Clients.Timeout);
        Assert.Equal((1000L, false), (bytes, reset));
    }
}
