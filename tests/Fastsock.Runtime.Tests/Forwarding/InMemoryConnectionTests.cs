using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Security.Cryptography;
using Fastsock.Engine;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using static Fastsock.Tests.Support.WorkerThreads;

namespace Fastsock.Tests.Forwarding;

public sealed class InMemoryConnectionTests
{
    [Fact]
    public async Task In_memory_pair_carries_a_round_trip_to_an_echo_handler()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CoreSets.First);
        var reply = await OnWorker(server.WorkerList[0], async () =>
        {
            var (client, app) = InMemoryConnection.CreatePair();
            var handler = TestServers.Echo(app);
            await client.Transport.Output.WriteAsync("ping"u8.ToArray());
            await client.Transport.Output.CompleteAsync();
            var echoed = await ReadToEndAsync(client.Transport.Input);
            await client.Transport.Input.CompleteAsync();
            await handler;
            return echoed;
        });

        Assert.Equal("ping"u8.ToArray(), reply);
    }

    [Fact]
    public async Task Sixty_four_mebibytes_through_an_in_memory_pair_arrive_byte_exact()
    {
        const int Total = 64 << 20;
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CoreSets.First);
        var (sent, received, count) = await OnWorker(server.WorkerList[0], async () =>
        {
            var (client, app) = InMemoryConnection.CreatePair();
            var handler = TestServers.Echo(app);
            var source = new byte[1 << 20];
            new Random(64).NextBytes(source);
            var reading = PipeHash.HashToEndAsync(client.Transport.Input);
            var random = new Random(65);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (int written = 0; written < Total;)
            {
                int size = Math.Min(random.Next(1, 100_000), Total - written);
                var chunk = source.AsMemory(random.Next(0, source.Length - size), size);
                hash.AppendData(chunk.Span);
                await client.Transport.Output.WriteAsync(chunk);
                written += size;
            }

            await client.Transport.Output.CompleteAsync();
            var (bytes, digest) = await reading;
            await client.Transport.Input.CompleteAsync();
            await handler;
            return (hash.GetHashAndReset(), digest, bytes);
        });

        Assert.Equal(Total, count);
        Assert.Equal(sent, received);
    }

    [Fact]
    public async Task Completing_one_output_is_seen_as_eof_while_the_other_direction_goes_on_and_closed_fires_at_the_end()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CoreSets.First);
        var closed = await OnWorker(server.WorkerList[0], async () =>
        {
            var (client, app) = InMemoryConnection.CreatePair();
            await client.Transport.Output.WriteAsync("question"u8.ToArray());
            await client.Transport.Output.CompleteAsync();

            Assert.Equal("question"u8.ToArray(), await ReadToEndAsync(app.Transport.Input)); // EOF after the bytes
            await app.Transport.Output.WriteAsync("answer after the peer's FIN"u8.ToArray());
            Assert.False(app.ConnectionClosed.IsCancellationRequested);
            await app.Transport.Output.CompleteAsync();
            await app.Transport.Input.CompleteAsync();

            Assert.Equal("answer after the peer's FIN"u8.ToArray(), await ReadToEndAsync(client.Transport.Input));
            await client.Transport.Input.CompleteAsync();
            return await WaitCancelledAsync(client.ConnectionClosed);
        });

        Assert.True(closed);
    }

    [Fact]
    public async Task Aborting_one_end_resets_the_other_and_fires_closed_for_both()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CoreSets.First);
        var outcome = await OnWorker(server.WorkerList[0], async () =>
        {
            var (client, app) = InMemoryConnection.CreatePair();
            var pendingRead = app.Transport.Input.ReadAsync().AsTask();
            client.Abort();
            var peerError = await Assert.ThrowsAsync<ConnectionResetException>(() => pendingRead);
            await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await client.Transport.Input.ReadAsync());
            var flush = await app.Transport.Output.WriteAsync("into the void"u8.ToArray());
            return (peerError, flush.IsCompleted, await WaitCancelledAsync(app.ConnectionClosed), client.ConnectionClosed.IsCancellationRequested);
        });

        Assert.NotNull(outcome.peerError);
        Assert.True(outcome.IsCompleted);
        Assert.True(outcome.Item3);
        Assert.True(outcome.Item4);
    }

    [Fact]
    public async Task Relay_forwards_a_socket_client_to_an_in_process_app_without_any_backend_socket()
    {
        var payload = RelayHalfCloseTests.Pattern(3 << 20);
        ForwardResult? result = null;
        await using var server = await TestServers.StartAsync(async connection =>
        {
            var (proxySide, app) = InMemoryConnection.CreatePair();
            var handler = TestServers.Echo(app);
            result = await ConnectionForwarder.ForwardAsync(connection, proxySide);
            await handler;
        }, o => o.Cores = CoreSets.First);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        var reading = Clients.ReadToEndAsync(client);
        for (int sent = 0; sent < payload.Length;)
        {
            sent += await client.SendAsync(payload.AsMemory(sent)).AsTask().WaitAsync(Clients.Timeout);
        }

        client.Shutdown(SocketShutdown.Send);

        Assert.Equal(payload, await reading);
        Assert.True(await Eventually.HoldsAsync(() => result is not null));
        Assert.Equal(ForwardingMode.Copy, result!.Value.Mode);
        Assert.Null(result.Value.Error);
        Assert.Equal(payload.Length, result.Value.SecondToFirst);
        var stats = server.GetStats()[0];
        Assert.Equal(0, stats.Connected); // no outbound socket
        Assert.Equal(2L * payload.Length, stats.BytesCopied);
    }

    private static async Task<byte[]> ReadToEndAsync(PipeReader input)
    {
        while (true)
        {
            var result = await input.ReadAsync();
            if (result.IsCompleted)
            {
                var bytes = result.Buffer.ToArray();
                input.AdvanceTo(result.Buffer.End);
                return bytes;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static async Task<bool> WaitCancelledAsync(CancellationToken token)
    {
        for (int i = 0; i < 100 && !token.IsCancellationRequested; i++)
        {
            await Task.Yield();
        }

        return token.IsCancellationRequested;
    }
}
