using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Transport.Pipes;

// These tests look at a pending ValueTask's IsCompleted before awaiting it once, on purpose.
#pragma warning disable CA2012

namespace Fastsock.Tests.Transport.Pipes;

public sealed class WorkerPipeTests
{
    [Fact]
    public async Task Eight_mebibytes_written_in_odd_chunks_are_read_back_in_order_across_many_blocks()
    {
        const int Total = 8 << 20;
        using var host = await PipeTestWorker.StartAsync();
        var (read, mismatchAt, reads) = await host.Run(async () =>
        {
            var pipe = host.NewPipe(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 16 * 1024);
            var reading = ReadAndCheckAsync(pipe.Reader, new Random(7));
            var random = new Random(3);
            for (long written = 0; written < Total;)
            {
                // Sizes around and above a block, including one hint above a block (an oversized segment).
                int sizeHint = written == 100_000 ? 10_000 : 0;
                var memory = pipe.Writer.GetMemory(sizeHint);
                int size = (int)Math.Min(Math.Min(random.Next(1, 9000), memory.Length), Total - written);
                for (int i = 0; i < size; i++)
                {
                    memory.Span[i] = ValueAt(written + i);
                }

                pipe.Writer.Advance(size);
                written += size;
                if (random.Next(3) == 0)
                {
                    await pipe.Writer.FlushAsync();
                }
            }

            await pipe.Writer.CompleteAsync();
            return await reading;
        });

        Assert.Equal(-1, mismatchAt);
        Assert.Equal(Total, read);
        Assert.True(reads > 100, $"only {reads} reads: the test did not exercise partial reads");
    }

    [Fact]
    public async Task A_read_after_everything_was_examined_waits_for_new_bytes_and_one_after_a_partial_examine_does_not()
    {
        using var host = await PipeTestWorker.StartAsync();
        await host.Run(async () =>
        {
            var pipe = host.NewPipe();
            await pipe.Writer.WriteAsync("abc"u8.ToArray());
            var first = await pipe.Reader.ReadAsync();
            Assert.Equal("abc", Text(first.Buffer));
            pipe.Reader.AdvanceTo(first.Buffer.Start, first.Buffer.GetPosition(2)); // examined "ab" only

            var again = pipe.Reader.ReadAsync();
            Assert.True(again.IsCompleted, "a read after a partial examine must complete with the same bytes");
            var second = await again;
            Assert.Equal("abc", Text(second.Buffer));
            pipe.Reader.AdvanceTo(second.Buffer.GetPosition(1), second.Buffer.End); // consumed "a", examined all

            var waiting = pipe.Reader.ReadAsync();
            Assert.False(waiting.IsCompleted, "a read after examining everything must wait for new bytes");
            await pipe.Writer.WriteAsync("d"u8.ToArray());
            var third = await waiting;
            Assert.Equal("bcd", Text(third.Buffer));
            pipe.Reader.AdvanceTo(third.Buffer.End);
            Assert.Equal(0, pipe.BufferedBytes);
        });
    }

    [Fact]
    public async Task A_flush_waits_at_the_pause_threshold_and_completes_once_the_reader_goes_below_the_resume_threshold()
    {
        using var host = await PipeTestWorker.StartAsync();
        await host.Run(async () =>
        {
            var pipe = host.NewPipe(pauseWriterThreshold: 8192, resumeWriterThreshold: 4096);
            Assert.True(pipe.Writer.WriteAsync(new byte[8191]).IsCompleted, "below the pause threshold a flush completes at once");
            var paused = pipe.Writer.WriteAsync(new byte[1]);
            Assert.False(paused.IsCompleted, "at the pause threshold the flush must wait");

            var result = await pipe.Reader.ReadAsync();
            pipe.Reader.AdvanceTo(result.Buffer.GetPosition(4096)); // 4096 left: not below the resume threshold
            Assert.False(paused.IsCompleted, "4096 unconsumed bytes are not below the resume threshold of 4096");

            result = await pipe.Reader.ReadAsync();
            pipe.Reader.AdvanceTo(result.Buffer.GetPosition(1)); // 4095 left
            Assert.True(paused.IsCompleted, "below the resume threshold the waiting flush completes");
            var flushed = await paused;
            Assert.False(flushed.IsCompleted);
            Assert.False(flushed.IsCanceled);
        });
    }

    [Fact]
    public async Task CancelPendingRead_ends_a_waiting_read_as_cancelled_and_a_later_one_at_once_keeping_the_bytes()
    {
        using var host = await PipeTestWorker.StartAsync();
        await host.Run(async () =>
        {
            var pipe = host.NewPipe();
            var waiting = pipe.Reader.ReadAsync();
            pipe.Reader.CancelPendingRead();
            var cancelled = await waiting;
            Assert.True(cancelled.IsCanceled);
            pipe.Reader.AdvanceTo(cancelled.Buffer.End);

            await pipe.Writer.WriteAsync("kept"u8.ToArray());
            pipe.Reader.CancelPendingRead(); // no read pending: the next one returns cancelled at once
            var next = await pipe.Reader.ReadAsync();
            Assert.True(next.IsCanceled);
            Assert.Equal("kept", Text(next.Buffer));
            pipe.Reader.AdvanceTo(next.Buffer.Start);

            var plain = await pipe.Reader.ReadAsync();
            Assert.False(plain.IsCanceled);
            Assert.Equal("kept", Text(plain.Buffer));
            pipe.Reader.AdvanceTo(plain.Buffer.End);
        });
    }

    [Fact]
    public async Task CancelPendingFlush_ends_a_flush_waiting_on_backpressure_as_cancelled()
    {
        using var host = await PipeTestWorker.StartAsync();
        await host.Run(async () =>
        {
            var pipe = host.NewPipe(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048);
            var paused = pipe.Writer.WriteAsync(new byte[5000]);
            Assert.False(paused.IsCompleted);
            pipe.Writer.CancelPendingFlush();
            var result = await paused;
            Assert.True(result.IsCanceled);
            Assert.False(result.IsCompleted);
        });
    }

    [Fact]
    public async Task Cancelling_a_token_from_another_thread_ends_a_waiting_read_and_a_waiting_flush_with_OperationCanceledException()
    {
        using var host = await PipeTestWorker.StartAsync();
        using var readCancel = new CancellationTokenSource();
        using var flushCancel = new CancellationTokenSource();
        var (read, flush) = await host.Run(() =>
        {
            var input = host.NewPipe();
            var output = host.NewPipe(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048);
            var pendingRead = input.Reader.ReadAsync(readCancel.Token).AsTask();
            var pendingFlush = output.Writer.WriteAsync(new byte[5000], flushCancel.Token).AsTask();
            return Task.FromResult((pendingRead, pendingFlush));
        });

        Assert.False(read.IsCompleted);
        Assert.False(flush.IsCompleted);
        await readCancel.CancelAsync(); // off the worker: the pipe hears it through the worker's queue
        await flushCancel.CancelAsync();
        var readError = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Support.Clients.Timeout));
        var flushError = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => flush.WaitAsync(Support.Clients.Timeout));
        Assert.Equal(readCancel.Token, readError.CancellationToken);
        Assert.Equal(flushCancel.Token, flushError.CancellationToken);
    }

    [Fact]
    public async Task Completing_the_writer_gives_the_reader_the_bytes_then_IsCompleted_and_its_error_is_thrown_to_the_reader()
    {
        using var host = await PipeTestWorker.StartAsync();
        await host.Run(async () =>
        {
            var pipe = host.NewPipe();
            var memory = pipe.Writer.GetMemory();
            "last"u8.CopyTo(memory.Span);
            pipe.Writer.Advance(4); // not flushed: completing delivers it
            await pipe.Writer.CompleteAsync();
            var result = await pipe.Reader.ReadAsync();
            Assert.True(result.IsCompleted);
            Assert.Equal("last", Text(result.Buffer));
            pipe.Reader.AdvanceTo(result.Buffer.End);
            var end = await pipe.Reader.ReadAsync();
            Assert.True(end.IsCompleted);
            Assert.True(end.Buffer.IsEmpty);
            pipe.Reader.AdvanceTo(end.Buffer.End);
            await pipe.Reader.CompleteAsync();
            Assert.False(pipe.HoldsBlocks);

            var failing = host.NewPipe();
            var waiting = failing.Reader.ReadAsync();
            var error = new IOException("peer reset");
            failing.Writer.Complete(error);
            Assert.Same(error, await Assert.ThrowsAsync<IOException>(async () => await waiting));
        });
    }

    [Fact]
    public async Task A_writer_error_comes_after_every_byte_flushed_before_it_and_once_they_were_all_examined()
    {
        using var host = await PipeTestWorker.StartAsync();
        await host.Run(async () =>
        {
            // Bytes flushed, then the writer fails: the reader gets the bytes (not completed), then the error.
            var pipe = host.NewPipe();
            await pipe.Writer.WriteAsync("abcd"u8.ToArray());
            var error = new IOException("peer reset");
            pipe.Writer.Complete(error);
            var first = await pipe.Reader.ReadAsync();
            Assert.Equal("abcd", Text(first.Buffer));
            Assert.False(first.IsCompleted, "the bytes before a failure are ordinary reads");
            pipe.Reader.AdvanceTo(first.Buffer.GetPosition(1), first.Buffer.GetPosition(2)); // consumed "a", examined "ab"
            var second = await pipe.Reader.ReadAsync();
            Assert.Equal("bcd", Text(second.Buffer));
            Assert.False(second.IsCompleted);
            pipe.Reader.AdvanceTo(second.Buffer.Start, second.Buffer.End); // examined all, consumed none
            // The read after everything was examined fails at once (thrown by ReadAsync itself, as Pipe does), never waits.
            Assert.Same(error, Assert.Throws<IOException>(() => pipe.Reader.ReadAsync()));

            // The reader examined everything and waits: the failure is its next result, not the same bytes again.
            var waited = host.NewPipe();
            await waited.Writer.WriteAsync("xy"u8.ToArray());
            var seen = await waited.Reader.ReadAsync();
            waited.Reader.AdvanceTo(seen.Buffer.Start, seen.Buffer.End);
            var waiting = waited.Reader.ReadAsync();
            Assert.False(waiting.IsCompleted);
            waited.Writer.Complete(error);
            Assert.Same(error, await Assert.ThrowsAsync<IOException>(async () => await waiting));

            // Bytes flushed to a waiting read, then the failure before the reader ran: the read still gets the bytes.
            var late = host.NewPipe();
            var pending = late.Reader.ReadAsync();
            await late.Writer.WriteAsync("z"u8.ToArray());
            late.Writer.Complete(error);
            Assert.True(pending.IsCompleted && !pending.IsFaulted, "the completed read reports its bytes, not the later failure");
            var bytes = await pending;
            Assert.Equal("z", Text(bytes.Buffer));
            late.Reader.AdvanceTo(bytes.Buffer.End);
            Assert.Same(error, await Assert.ThrowsAsync<IOException>(async () => await late.Reader.ReadAsync()));
            await late.Reader.CompleteAsync();
            Assert.False(late.HoldsBlocks);
        });
    }

    [Fact]
    public async Task Completing_the_reader_makes_flushes_report_IsCompleted_and_its_error_is_thrown_to_the_writer()
    {
        using var host = await PipeTestWorker.StartAsync();
        await host.Run(async () =>
        {
            var pipe = host.NewPipe(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048);
            var paused = pipe.Writer.WriteAsync(new byte[5000]);
            Assert.False(paused.IsCompleted);
            await pipe.Reader.CompleteAsync();
            Assert.True((await paused).IsCompleted, "a flush waiting on backpressure completes when the reader goes");
            Assert.True((await pipe.Writer.WriteAsync(new byte[10])).IsCompleted);
            Assert.False(pipe.HoldsBlocks); // bytes for a reader that is gone are dropped at once

            var failing = host.NewPipe();
            var error = new InvalidDataException("bad request");
            failing.Reader.Complete(error);
            Assert.Same(error, await Assert.ThrowsAsync<InvalidDataException>(async () => await failing.Writer.WriteAsync(new byte[1])));
        });
    }

    [Fact]
    public async Task A_reset_pipe_forgets_an_abandoned_read_holds_no_block_and_carries_the_next_bytes()
    {
        using var host = await PipeTestWorker.StartAsync();
        await host.Run(async () =>
        {
            var pipe = host.NewPipe();
            Assert.Throws<InvalidOperationException>(() => pipe.Reset()); // both ends still open

            var abandoned = pipe.Reader.ReadAsync(); // never awaited
            await pipe.Writer.WriteAsync("old"u8.ToArray());
            await pipe.Writer.CompleteAsync();
            await pipe.Reader.CompleteAsync();
            pipe.Reset();
            Assert.False(pipe.HoldsBlocks);
            Assert.Throws<InvalidOperationException>(() => abandoned.GetAwaiter().GetResult());

            await pipe.Writer.WriteAsync("new"u8.ToArray());
            var result = await pipe.Reader.ReadAsync();
            Assert.Equal("new", Text(result.Buffer));
            pipe.Reader.AdvanceTo(result.Buffer.End);
        });
    }

    private static async Task<(long Read, long MismatchAt, int Reads)> ReadAndCheckAsync(PipeReader reader, Random random)
    {
        long position = 0;
        int reads = 0;
        while (true)
        {
            var result = await reader.ReadAsync();
            reads++;
            var buffer = result.Buffer;
            long take = buffer.Length == 0 ? 0 : Math.Min(buffer.Length, random.Next(1, 20_000));
            long checkedAt = position;
            foreach (var segment in buffer.Slice(0, take))
            {
                foreach (byte b in segment.Span)
                {
                    if (b != ValueAt(checkedAt))
                    {
                        await reader.CompleteAsync(); // the writer's flushes now complete: the test ends, failing
                        return (position, checkedAt, reads);
                    }

                    checkedAt++;
                }
            }

            position += take;
            reader.AdvanceTo(buffer.GetPosition(take));
            if (result.IsCompleted && take == buffer.Length)
            {
                await reader.CompleteAsync();
                return (position, -1, reads);
            }
        }
    }

    private static byte ValueAt(long position) => (byte)(position % 251);

    private static string Text(in ReadOnlySequence<byte> buffer) => System.Text.Encoding.ASCII.GetString(buffer.ToArray());
}
