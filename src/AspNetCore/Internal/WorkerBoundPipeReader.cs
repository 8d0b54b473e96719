using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
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
/// queues it to the thread pool, which would undo the hop at once. For the same reason this is not
/// ManualResetValueTaskSourceCore: a continuation registered after the result is in (the worker was quicker than
/// the caller's await) goes to the thread pool there; here it is posted to the worker. One source per connection,
/// reused for every hop; Kestrel has one read pending at a time.
/// </remarks>
internal sealed class WorkerBoundPipeReader : PipeReader, IValueTaskSource<ReadResult>
{
    private static readonly Action<object?> s_startOnWorker = static state => ((WorkerBoundPipeReader)state!).StartOnWorker();
    private static readonly Action<object?> s_completed = static _ => { };

    private readonly PipeReader _inner;
    private readonly Worker _worker;
    private readonly CancellationTokenSource _connectionClosed;
    private readonly Action _onInnerCompleted;
    private CancellationToken _hopCancellation;
    private ValueTask<ReadResult> _innerRead;
    private short _version;
    private Action<object?>? _continuation;
    private object? _continuationState;
    private ReadResult _result;
    private ExceptionDispatchInfo? _error;

    /// <param name="inner">The runtime connection's input.</param>
    /// <param name="worker">The connection's worker.</param>
    /// <param name="connectionClosed">Kestrel's ConnectionClosed: cancelled before a read reports a reset or an abort.</param>
    public WorkerBoundPipeReader(PipeReader inner, Worker worker, CancellationTokenSource connectionClosed)
    {
        _inner = inner;
        _worker = worker;
        _connectionClosed = connectionClosed;
        _onInnerCompleted = OnInnerCompleted;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (!_worker.IsCurrentThread)
        {
            Begin();
            _hopCancellation = cancellationToken;
            _worker.Post(s_startOnWorker, this);
            return new ValueTask<ReadResult>(this, _version);
        }

        var read = _inner.ReadAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            return read;
        }

        // Pending or failed: complete through this source too, so a reset reaches Kestrel as Kestrel names it, after
        // Kestrel has been told the connection closed (as its sockets transport does), not before.
        Begin();
        Await(read);
        return new ValueTask<ReadResult>(this, _version);
    }

    public override bool TryRead(out ReadResult result)
    {
        try
        {
            return _inner.TryRead(out result);
        }
        catch (Exception ex) when (ForKestrel(ex) is { } named && !ReferenceEquals(named, ex))
        {
            throw named;
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => _inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => _inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token)
    {
        CheckToken(token);
        _error?.Throw();
        return _result;
    }

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token)
    {
        CheckToken(token);

        // Off the worker a finished read still says Pending: the caller's await then registers its continuation,
        // which OnCompleted posts to the worker, instead of going on synchronously on the thread pool.
        if (!_worker.IsCurrentThread || !ReferenceEquals(Volatile.Read(ref _continuation), s_completed))
        {
            return ValueTaskSourceStatus.Pending;
        }

        return _error is null ? ValueTaskSourceStatus.Succeeded
            : _error.SourceException is OperationCanceledException ? ValueTaskSourceStatus.Canceled
            : ValueTaskSourceStatus.Faulted;
    }

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        CheckToken(token);
        _continuationState = state;
        if (Interlocked.CompareExchange(ref _continuation, continuation, null) is not null)
        {
            // Already completed: run it on the worker (the caller's own thread would be the thread pool).
            _worker.Post(continuation, state);
        }
    }

    private void CheckToken(short token)
    {
        if (token != _version)
        {
            throw new InvalidOperationException("This read was already awaited; a pipe read's ValueTask can be awaited once.");
        }
    }

    private void Begin()
    {
        _version++;
        _result = default;
        _error = null;
        _continuationState = null;
        Volatile.Write(ref _continuation, null);
    }

    private void StartOnWorker()
    {
        ValueTask<ReadResult> read;
        try
        {
            read = _inner.ReadAsync(_hopCancellation);
        }
        catch (Exception ex)
        {
            Finish(default, ex);
            return;
        }

        Await(read);
    }

    private void Await(ValueTask<ReadResult> read)
    {
        _innerRead = read;
        if (read.IsCompleted)
        {
            OnInnerCompleted();
            return;
        }

        // The pipe's reader scheduler is the worker: this callback, and the caller's continuation inside it, run there.
        read.GetAwaiter().UnsafeOnCompleted(_onInnerCompleted);
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
            Finish(default, ex);
            return;
        }

        Finish(result, null);
    }

    /// <summary>Worker thread: records the outcome and runs a waiting continuation inline, here on the worker.</summary>
    private void Finish(ReadResult result, Exception? error)
    {
        _result = result;
        if (error is not null)
        {
            var named = ForKestrel(error);
            if (!ReferenceEquals(named, error))
            {
                // The peer reset or the runtime aborted: Kestrel learns the connection closed first (it then aborts the
                // request instead of trying to drain a body that will never come).
                _connectionClosed.Cancel();
            }

            _error = ExceptionDispatchInfo.Capture(named);
        }

        var waiting = Interlocked.CompareExchange(ref _continuation, s_completed, null);
        if (waiting is not null)
        {
            waiting(_continuationState);
        }
    }

    /// <summary>The runtime's reset and abort as Kestrel's own types, which Kestrel treats as a closed connection.</summary>
    private static Exception ForKestrel(Exception error) => error switch
    {
        Fastsock.Transport.ConnectionResetException reset => new Microsoft.AspNetCore.Connections.ConnectionResetException(reset.Message, reset),
        Fastsock.Transport.ConnectionAbortedException aborted => new Microsoft.AspNetCore.Connections.ConnectionAbortedException(aborted.Message, aborted),
        _ => error,
    };
}
