using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The plaintext reader of a TLS connection, whose reads always complete on the connection's worker. Handlers (and
/// the forwarders, which await with ConfigureAwait(false) on the promise that a connection's pipes resume on its worker)
/// rely on that, while SslStream may finish a read on a pool thread.
/// </summary>
internal sealed class WorkerBoundReader(PipeReader inner, Worker worker) : PipeReader
{
    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(cancellationToken);
        return read.IsCompleted && worker.IsCurrentThread ? read : ResumeOnWorker(read);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ResumeOnWorker(ValueTask<ReadResult> read)
    {
        var result = await read.ConfigureAwait(false);
        await new WorkerHop(worker);
        return result;
    }

    public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
}

/// <summary>The plaintext writer of a TLS connection, whose flushes always complete on the connection's worker.</summary>
internal sealed class WorkerBoundWriter(PipeWriter inner, Worker worker) : PipeWriter
{
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        var flush = inner.FlushAsync(cancellationToken);
        return flush.IsCompleted && worker.IsCurrentThread ? flush : ResumeOnWorker(flush);
    }

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        var flush = inner.WriteAsync(source, cancellationToken);
        return flush.IsCompleted && worker.IsCurrentThread ? flush : ResumeOnWorker(flush);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> ResumeOnWorker(ValueTask<FlushResult> flush)
    {
        var result = await flush.ConfigureAwait(false);
        await new WorkerHop(worker);
        return result;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
}
