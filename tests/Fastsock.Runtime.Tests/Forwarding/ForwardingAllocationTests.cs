using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

public sealed class ForwardingAllocationTests
{
    private const int Warmup = 64 << 20; // the worker's pool grows its slabs to the working set first
    private const int Measured = 32 << 20;
    private const int Chunk = 16 * 1024;

    [Theory]
    [InlineData(ForwardingMode.Copy)]
    [InlineData(ForwardingMode.Splice)]
    public async Task Forwarding_allocates_nothing_per_chunk_on_the_relay_worker(ForwardingMode mode)
    {
        var allowed = CpuSet.Allowed();
        await using var backend = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Of(allowed[^1]));
        await using var relay = await RelayServer.StartAsync(backend.EndPoints[0], mode);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        await relay.Forwarding.Task.WaitAsync(Clients.Timeout);
        var worker = relay.Server.WorkerList[0];

        await EchoAsync(client, Warmup);
        long allocated = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            // The least of three rounds: the pool may still add a slab when TCP windows grow, once; a per-chunk
            // allocation would show in every round.
            long before = await AllocatedOnWorker(worker);
            await EchoAsync(client, Measured);
            allocated = Math.Min(allocated, await AllocatedOnWorker(worker) - before);
        }

        // 32 MiB each way is at least 2 × 8192 transport chunks of 4 KiB: one object per chunk would be ≥ 384 KiB.
        Assert.True(allocated < 64 * 1024, $"the relay worker allocated {allocated} bytes while forwarding {2 * Measured} bytes");
        client.Shutdown(SocketShutdown.Send);
        Assert.Empty(await Clients.ReadToEndAsync(client));
    }

    private static async Task EchoAsync(Socket client, int total)
    {
        var chunk = new byte[Chunk];
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            long received = 0;
            while (received < total)
            {
                int n = await client.ReceiveAsync(buffer.AsMemory());
                Assert.NotEqual(0, n);
                received += n;
            }
        });
        for (int sent = 0; sent < total; sent += Chunk)
        {
            await client.SendAsync(chunk.AsMemory());
        }

        await reading.WaitAsync(Clients.Timeout);
    }

    private static Task<long> AllocatedOnWorker(Fastsock.Engine.Worker worker)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.Post(static state => ((TaskCompletionSource<long>)state!).SetResult(GC.GetAllocatedBytesForCurrentThread()), done);
        return done.Task.WaitAsync(Clients.Timeout);
    }
}
