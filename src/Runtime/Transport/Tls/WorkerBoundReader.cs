using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The plaintext reader of a TLS connection, whose reads always complete on the connection's worker. Handlers (and
/// the forwarders, which await with ConfigureAwait(false) on the promise that a connection's pipes resume on its worker)
/// rely on that, while SslStream may finish a read on a pool thread.
/// </summary>
/// <remarks>
/// A read that waits is its own value-task source, completed on the worker. A handler awaiting on the worker captures
/// the worker's SynchronizationContext, and a general-purpose source (an async method's box) honours that by posting
/// the continuation through the context: a delegate and a boxed pair per read (96 B per request, measured by
/// TlsAllocationTests) and one more trip through the worker's queue. Completing on the worker is what the context would
/// have done, so a continuation registered on the worker runs inline instead.
/// </remarks>
internal sealed class WorkerBoundReader : PipeReader, IValueTaskSource<ReadResult>
{
    private static readonly Action<object?> s_completeOnWorker = static state => ((WorkerBoundReader)state!).Complete();

    private readonly PipeReader _inner;
    private readonly Worker _worker;
    private readonly Action _onInnerCompleted;
    private ManualResetValueTaskSourceCore<ReadResult> _read;
    private ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _pending;
    private WorkerSynchronizationContext? _context;

    public WorkerBoundReader(PipeReader inner, Worker worker)
    {
        _inner = inner;
        _worker = worker;
        _onInnerCompleted = OnInnerCompleted;
    }

    /// <summary>A read of the inner reader threw (SslStream refused a record, or the transport under it failed).</summary>
    public bool ReadFailed { get; private set; }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var read = _inner.ReadAsync(cancellationToken);
        if (read.IsCompleted && _worker.IsCurrentThread)
        {
            ReadFailed |= read.IsFaulted;
            return read;
        }

        _read.Reset();
        _pending = read.ConfigureAwait(false).GetAwaiter();
        _pending.UnsafeOnCompleted(_onInnerCompleted);
        return new ValueTask<ReadResult>(this, _read.Version);
    }

    private void OnInnerCompleted()
    {
        if (_worker.IsCurrentThread)
        {
            Complete();
        }
        else
        {
            _worker.Post(s_completeOnWorker, this);
        }
    }

    private void Complete()
    {
        ReadResult result = default;
        Exception? error = null;
        try
        {
            result = _pending.GetResult();
        }
        catch (Exception ex)
        {
            ReadFailed = true;
            error = ex;
        }

        _pending = default;

        // The continuation runs inline here, where ConnectionPipeStream may have cleared the context for SslStream:
        // the handler continues under the worker's context, as if it had been posted.
        var context = _context;
        _context = null;
        var previous = SynchronizationContext.Current;
        if (context is not null)
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }

        try
        {
            if (error is null)
            {
                _read.SetResult(result);
            }
            else
            {
                _read.SetException(error);
            }
        }
        finally
        {
            if (context is not null)
            {
                SynchronizationContext.SetSynchronizationContext(previous);
            }
        }
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        // Registered on the worker under its own context: Complete runs on the worker and restores that context.
        if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0 && _worker.IsCurrentThread
            && SynchronizationContext.Current is WorkerSynchronizationContext context && context.Worker == _worker)
        {
            _context = context;
            flags &= ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext;
        }

        _read.OnCompleted(continuation, state, token, flags);
    }

    public override bool TryRead(out ReadResult result) => _inner.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => _inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => _inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);
}
