using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Fastsock.Transport.Pipes;

/// <summary>The reading end of a <see cref="WorkerPipe"/>, and the source of its pending read's ValueTask.</summary>
internal sealed class WorkerPipeReader(WorkerPipe pipe) : PipeReader, IValueTaskSource<ReadResult>
{
    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => pipe.ReadAsync(cancellationToken);

    public override bool TryRead(out ReadResult result) => pipe.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => pipe.AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => pipe.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => pipe.CancelPendingRead();

    public override void Complete(Exception? exception = null) => pipe.CompleteReader(exception);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => pipe.GetReadStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        pipe.OnReadCompleted(continuation, state, token, flags);

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => pipe.GetReadResult(token);
}
