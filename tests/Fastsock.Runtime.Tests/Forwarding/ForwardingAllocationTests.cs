using System.Diagnostics;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Xunit.Abstractions;

namespace Fastsock.Tests.Forwarding;

[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class ForwardingAllocationTests(ITestOutputHelper output)
{
    private const int Warmup = 64 << 20; // the worker's pool grows its slabs to the working set first
    private const int Measured = 32 << 20;
    private const int Chunk = 16 * 1024;
    private const int Windows = 5;

    // Both directions in transport reads of at most one 4 KiB pool block: at least this many chunks per window.
    private const int TransportChunks = 2 * Measured / 4096;

    // Pipe keeps at most 256 spare segments (System.IO.Pipelines' MaxSegmentPoolSize); the default 1 MiB input limit
    // in 4 KiB segments can hold a few more than that when the backend lags, and every segment past 256 is allocated
    // anew (measured: ~70 KB of BufferSegment per window on a loaded machine). Half of it keeps every pipe within its
    // segment pool, so what is left to see is the relay's own allocations.
    private const int MaxInputBufferSize = 512 * 1024;

    [Theory]
    [InlineData(ForwardingMode.Copy)]
    [InlineData(ForwardingMode.Splice)]
    public async Task Forwarding_allocates_nothing_per_chunk_on_the_relay_worker(ForwardingMode mode)
    {
        var allowed = CpuSet.Allowed();
        await using var backend = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Of(allowed[^1]));
        await using var relay = await RelayServer.StartAsync(backend.EndPoints[0], mode, configure: o => o.Connection.MaxInputBufferSize = MaxInputBufferSize);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        await relay.Forwarding.Task.WaitAsync(Clients.Timeout);
        var worker = relay.Server.WorkerList[0];

        await EchoAsync(client, Warmup);
        var excess = new List<long>(Windows);
        for (int window = 0; window < Windows; window++)
        {
            // Loaded window, then an idle one as long: what the worker allocates anyway (timers, the probe itself)
            // is not the forwarding's.
            var clock = Stopwatch.StartNew();
            long before = await WorkerThreads.AllocatedBytes(worker);
            await EchoAsync(client, Measured);
            long loaded = await WorkerThreads.AllocatedBytes(worker) - before;
            var length = clock.Elapsed;

            before = await WorkerThreads.AllocatedBytes(worker);
            await Task.Delay(length);
            long idle = await WorkerThreads.AllocatedBytes(worker) - before;

            excess.Add(loaded - idle);
            output.WriteLine($"window {window}: {loaded} B loaded, {idle} B idle over {length.TotalMilliseconds:F0} ms, {2 * Measured} B forwarded");
            if (loaded - idle < TransportChunks)
            {
                break;
            }
        }

        // Under one byte per 4 KiB chunk in some window: one object per chunk (≥ 24 B) would show in every window,
        // while a one-off growth (a slab, a pipe's segment pool reaching its working set) shows in one at most.
        Assert.True(
            excess.Exists(bytes => bytes < TransportChunks),
            $"Every window allocated at least one byte per transport chunk ({TransportChunks} chunks) on the relay worker: {string.Join(", ", excess)} B.");
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
                int n = await client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Clients.Timeout);
                Assert.NotEqual(0, n);
                received += n;
            }
        });
        for (int sent = 0; sent < total; sent += Chunk)
        {
            await client.SendAsync(chunk.AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        }

        await reading.WaitAsync(Clients.Timeout);
    }
}
