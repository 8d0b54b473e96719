using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Memory;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

public sealed class BackpressureTests
{
    private const int Total = 64 * 1024 * 1024;
    private const int FlushEvery = 16 * 1024;

    [Trait("Category", "Slow")] // 64 MiB held back, then drained: about 3 s
    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_client_that_reads_nothing_keeps_the_servers_buffers_bounded_and_then_gets_all_64_MiB(string cores)
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int maxOutput = 0;
        await using var server = await TestServers.StartAsync(c => WriteAsFastAsAllowed(c, finished), o =>
        {
            o.Cores = CpuSet.Parse(cores);
            maxOutput = o.Connection.MaxOutputBufferSize;
        });
        // Unsent output may reach the pause threshold plus one flush; twice the threshold, plus slack for the
        // partially filled blocks at either end, is the most a bounded connection can hold.
        long bound = (2L * maxOutput / CoreMemoryPool.BlockSize) + 16;

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);

        long maxInUse = 0;
        var watchUntil = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (DateTime.UtcNow < watchUntil)
        {
            maxInUse = Math.Max(maxInUse, server.GetStats().Sum(s => s.PoolBlocksInUse));
            await Task.Delay(25);
        }

        long sentWhilePaused = server.GetStats().Sum(s => s.BytesSent);
        Assert.True(sentWhilePaused < Total, $"all {Total} bytes went out while the client read nothing: the kernel buffers swallowed the test");
        Assert.False(finished.Task.IsCompleted, "the handler finished writing while the client read nothing");
        Assert.True(maxInUse <= bound, $"{maxInUse} pool blocks in use while the client read nothing; bound {bound}");

        long received = 0;
        var buffer = new byte[256 * 1024];
        int n;
        while ((n = await client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Clients.Timeout)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)((received + i) % 251))
                {
                    Assert.Fail($"byte {received + i} is {buffer[i]}");
                }
            }

            received += n;
        }

        Assert.Equal(Total, received);
        await finished.Task.WaitAsync(Clients.Timeout);
    }

    /// <summary>Writes <see cref="Total"/> bytes (i % 251), flushing every 16 KiB, as fast as FlushAsync lets it.</summary>
    private static async Task WriteAsFastAsAllowed(Connection connection, TaskCompletionSource finished)
    {
        var output = connection.Transport.Output;
        int written = 0;
        while (written < Total)
        {
            int end = Math.Min(written + FlushEvery, Total);
            while (written < end)
            {
                var span = output.GetSpan(1);
                int size = Math.Min(span.Length, end - written);
                for (int i = 0; i < size; i++)
                {
                    span[i] = (byte)((written + i) % 251);
                }

                output.Advance(size);
                written += size;
            }

            await output.FlushAsync();
        }

        await output.CompleteAsync();
        await connection.Transport.Input.CompleteAsync();
        finished.TrySetResult();
    }
}
