using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Fastsock.Engine;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport.Pipes;

// These tests look at a pending ValueTask's IsCompleted before awaiting it once, on purpose.
#pragma warning disable CA2012

namespace Fastsock.Tests.Transport.Pipes;

public sealed class WorkerPipeOwnershipTests
{
    [Fact]
    public async Task Reading_writing_and_flushing_off_the_worker_are_refused_naming_the_worker_the_thread_and_what_to_do()
    {
        using var host = await PipeTestWorker.StartAsync();
        var pipe = await host.Run(() => Task.FromResult(host.NewPipe()));

        var errors = new[]
        {
            Assert.Throws<InvalidOperationException>(() => pipe.Writer.GetMemory()),
            Assert.Throws<InvalidOperationException>(() => pipe.Writer.Advance(0)),
            Assert.Throws<InvalidOperationException>(() => pipe.Writer.FlushAsync()),
            Assert.Throws<InvalidOperationException>(() => pipe.Reader.ReadAsync()),
            Assert.Throws<InvalidOperationException>(() => pipe.Reader.TryRead(out _)),
            Assert.Throws<InvalidOperationException>(() => pipe.Reader.Complete()),
        };

        foreach (var error in errors)
        {
            Assert.Contains($"thread {Environment.CurrentManagedThreadId}", error.Message);
            Assert.Contains($"worker {host.Worker.Index} (thread 'fastsock-w{host.Worker.Index}')", error.Message);
            Assert.Contains("Connection.Abort()", error.Message);
        }

        Assert.Contains("PipeWriter.FlushAsync", errors[2].Message);
        Assert.Contains("PipeReader.ReadAsync", errors[3].Message);
    }

    [Fact]
    public async Task CancelPendingRead_from_another_thread_is_posted_to_the_worker_and_ends_the_waiting_read()
    {
        using var host = await PipeTestWorker.StartAsync();
        var (pipe, read) = await host.Run(() =>
        {
            var pipe = host.NewPipe();
            return Task.FromResult((pipe, pipe.Reader.ReadAsync().AsTask()));
        });

        Assert.False(read.IsCompleted);
        pipe.Reader.CancelPendingRead(); // test thread
        var result = await read.WaitAsync(Clients.Timeout);
        Assert.True(result.IsCanceled);
    }

    [Fact]
    public async Task A_pipe_holds_no_block_once_the_reader_consumed_everything_or_the_writer_advanced_nothing()
    {
        using var host = await PipeTestWorker.StartAsync();
        var (idleAfterEmptyRead, heldWhileBuffered, heldAfterPartial, idleAfterAll, holdsBlocks) = await host.Run(async () =>
        {
            var pool = host.Worker.Pool;
            var pipe = host.NewPipe();
            long baseline = pool.InUse;

            // What the transport does when a read finds nothing (EAGAIN): memory asked for, nothing advanced.
            pipe.Writer.GetMemory(1);
            pipe.Writer.Advance(0);
            long idleAfterEmptyRead = pool.InUse - baseline;

            await pipe.Writer.WriteAsync(new byte[3 * 4096 + 100]);
            long heldWhileBuffered = pool.InUse - baseline;
            var result = await pipe.Reader.ReadAsync();
            pipe.Reader.AdvanceTo(result.Buffer.GetPosition(2 * 4096)); // two whole blocks consumed
            long heldAfterPartial = pool.InUse - baseline;
            result = await pipe.Reader.ReadAsync();
            pipe.Reader.AdvanceTo(result.Buffer.End);
            return (idleAfterEmptyRead, heldWhileBuffered, heldAfterPartial, pool.InUse - baseline, pipe.HoldsBlocks);
        });

        Assert.Equal(0, idleAfterEmptyRead);
        Assert.Equal(4, heldWhileBuffered);
        Assert.Equal(2, heldAfterPartial);
        Assert.Equal(0, idleAfterAll);
        Assert.False(holdsBlocks);
    }

    [Fact]
    public async Task Read_and_flush_cycles_on_the_worker_allocate_nothing()
    {
        const int Cycles = 20_000;
        using var host = await PipeTestWorker.StartAsync();
        var (idle, busy) = await host.Run(async () =>
        {
            var ping = host.NewPipe();
            var pong = host.NewPipe();
            var echo = EchoAsync(ping.Reader, pong.Writer);
            await PingPongAsync(ping.Writer, pong.Reader, 1000); // warm-up: pool slabs, segments, queues

            // The baseline is the same measurement around no cycles: what awaiting the loop itself costs.
            long start = GC.GetAllocatedBytesForCurrentThread();
            await PingPongAsync(ping.Writer, pong.Reader, 0);
            long idle = GC.GetAllocatedBytesForCurrentThread() - start;

            start = GC.GetAllocatedBytesForCurrentThread();
            await PingPongAsync(ping.Writer, pong.Reader, Cycles);
            long busy = GC.GetAllocatedBytesForCurrentThread() - start;

            await ping.Writer.CompleteAsync();
            await echo;
            await pong.Reader.CompleteAsync();
            return (idle, busy);
        });

        // Any allocation per cycle (a box, a closure, a segment) is at least 24 bytes: 480 KB over the run.
        // Less than one byte per cycle leaves room for a queue or a pool that grows once.
        Assert.True(busy - idle < Cycles, $"{busy - idle} bytes allocated over {Cycles} read/flush cycles (idle baseline {idle} bytes)");
    }

    [Fact]
    public async Task An_idle_keep_alive_socket_connection_holds_no_block_of_its_worker_pool()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Of(CpuSet.Allowed()[0]));
        var worker = server.WorkerList[0];
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]);
        var request = new byte[10_000]; // more than two blocks each way
        Random.Shared.NextBytes(request);
        await client.SendAsync(request);
        var echoed = await Clients.ReceiveExactlyAsync(client, request.Length);
        Assert.Equal(request, echoed);

        // The echo is back and the connection waits for more: both pipes empty, every block back in the pool.
        var (inUse, registered) = await OnWorker(worker, () => (worker.Pool.InUse, worker.RegisteredCount));
        Assert.True(registered >= 2, "the connection must still be open (listener + connection registered)");
        Assert.Equal(0, inUse);
    }

    [Fact]
    public async Task An_idle_keep_alive_hello_connection_holds_no_block_of_its_worker_pool()
    {
        await using var server = await Fastsock.Tests.Samples.HelloTestServer.StartAsync(o => o.Cores = CpuSet.Of(CpuSet.Allowed()[0]));
        var worker = server.WorkerList[0];
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var buffer = new byte[4096];
        int n = await client.ReceiveAsync(buffer);
        Assert.True(n > 0);

        var inUse = await OnWorker(worker, () => worker.Pool.InUse);
        Assert.Equal(0, inUse);
    }

    private static async Task PingPongAsync(PipeWriter output, PipeReader input, int cycles)
    {
        var message = new byte[64];
        for (int i = 0; i < cycles; i++)
        {
            await output.WriteAsync(message);
            var result = await input.ReadAsync();
            input.AdvanceTo(result.Buffer.End);
        }
    }

    private static async Task EchoAsync(PipeReader input, PipeWriter output)
    {
        while (true)
        {
            var result = await input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                output.Write(segment.Span);
            }

            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }

            await output.FlushAsync();
        }

        await input.CompleteAsync();
        await output.CompleteAsync();
    }

    private static Task<T> OnWorker<T>(Worker worker, Func<T> body)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.Post(_ =>
        {
            try
            {
                done.SetResult(body());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }, null);
        return done.Task.WaitAsync(Clients.Timeout);
    }
}
