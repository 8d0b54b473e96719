using System.IO.Pipelines;
using System.Threading.Tasks.Sources;
using Fastsock.Engine;

// The inner read is observed through its awaiter's callback: GetResult runs only once it completed.
#pragma warning disable CA2012

namespace Fastsock.AspNetCore.Internal;

/// <summary>
/// The connection's input as Kestrel reads it. Kestrel starts each connection on the thread pool; a read called off
/// the connection's worker is started on the worker and completes there, so Kestrel's parser resumes on the worker and
/// with it the middleware and the endpoint. On the worker every call goes straight to the runtime's pipe.
/// </summary>
/// <remarks>
/// The hop completes through <see cref="IValueTaskSource{TResult}"/>, not a Task: the TPL does not run a
/// ConfigureAwait(false) continuation inline on a thread with a custom SynchronizationContext (the worker's), it
/// queues it to the thread pool, which would undo the hop at once. One source per connection, reused for every hop.
/// </remarks>
internal sealed class WorkerBoundPipeReader : PipeReader, IValueTaskSource<ReadResult>
{
    private static readonly Action<object?> s_startOnWorker = static state => ((WorkerBoundPipeReader)state!).StartOnWorker();

    private readonly PipeReader _inner;
    private readonly Worker _worker;
    private readonly Action _onInnerCompleted;
    private ManualResetValueTaskSourceCore<ReadResult> _hop;
    private CancellationToken _hopCancellation;
    private ValueTask<ReadResult> _innerRead;

    public WorkerBoundPipeReader(PipeReader inner, Worker worker)
    {
        _inner = inner;
        _worker = worker;
        _onInnerCompleted = OnInnerCompleted;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_worker.IsCurrentThread)
        {
            return _inner.ReadAsync(cancellationToken);
        }

        _hop.Reset();
        _hopCancellation = cancellationToken;
        _worker.Post(s_startOnWorker, this);
        return new ValueTask<ReadResult>(this, _hop.Version);
    }

    public override bool TryRead(out ReadResult result) => _inner.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => _inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => _inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _hop.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _hop.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _hop.OnCompleted(continuation, state, token, flags);

    private void StartOnWorker()
    {
        try
        {
            _innerRead = _inner.ReadAsync(_hopCancellation);
        }
        catch (Exception ex)
        {
            _hop.SetException(ex);
            return;
        }

        if (_innerRead.IsCompleted)
        {
            OnInnerCompleted();
            return;
        }

        // The pipe's reader scheduler is the worker: this callback, and the caller's continuation inside it, run there.
        _innerRead.GetAwaiter().UnsafeOnCompleted(_onInnerCompleted);
    }

    private void OnInnerCompleted()
    {
        var read = _innerRead;
        _innerRead = default;
        ReadResult result;
        try
        {
            result = read.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            _hop.SetException(ex);
            return;
        }

        _hop.SetResult(result);
    }
}
