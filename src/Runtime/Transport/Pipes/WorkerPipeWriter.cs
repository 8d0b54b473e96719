using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Fastsock.Transport.Pipes;

/// <summary>The writing end of a <see cref="WorkerPipe"/>, and the source of its pending flush's ValueTask.</summary>
internal sealed class WorkerPipeWriter(WorkerPipe pipe) : PipeWriter, IValueTaskSource<FlushResult>
{
    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => pipe.UnflushedBytes;

    public override Memory<byte> GetMemory(int sizeHint = 0) => pipe.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => pipe.GetMemory(sizeHint).Span;

    public override void Advance(int bytes) => pipe.Advance(bytes);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => pipe.FlushAsync(cancellationToken);

    public override void CancelPendingFlush() => pipe.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => pipe.CompleteWriter(exception);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => pipe.GetFlushStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        pipe.OnFlushCompleted(continuation, state, token, flags);

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => pipe.GetFlushResult(token);
}
