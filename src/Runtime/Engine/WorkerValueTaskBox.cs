using System.Threading.Tasks.Sources;

namespace Fastsock.Engine;

/// <summary>
/// The source behind the <see cref="ValueTask{TResult}"/> of an async method built by
/// <see cref="WorkerPoolingValueTaskMethodBuilder{TResult}"/> that did not complete synchronously.
/// </summary>
/// <remarks>
/// Continuations run inline on the thread that completes the method (the awaiter's <c>ConfigureAwait</c> decides
/// otherwise), as with the runtime's pooling builder. <see cref="GetResult"/> ends the box's use: it bumps the version,
/// so a second await of the same <see cref="ValueTask"/> throws, and hands the box back to its pool.
/// </remarks>
internal abstract class WorkerValueTaskBox<TResult> : IValueTaskSource<TResult>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<TResult> _core;

    /// <summary>The token of the current use, given to the <see cref="ValueTask{TResult}"/> that wraps this box.</summary>
    public short Version => _core.Version;

    public void SetResult(TResult result) => _core.SetResult(result);

    public void SetException(Exception exception) => _core.SetException(exception);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    public TResult GetResult(short token)
    {
        // Throws for a stale token (awaited twice); a box still running must not be recycled under its state machine.
        if (_core.GetStatus(token) == ValueTaskSourceStatus.Pending)
        {
            throw new InvalidOperationException("The ValueTask's result was read before the async method completed; await it once instead.");
        }

        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            Recycle();
        }
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    /// <summary>Called once a result has been read: drop references and return to a pool, or do nothing.</summary>
    protected abstract void Recycle();
}

/// <summary>An async method that threw before it ever suspended: rare, so not pooled.</summary>
internal sealed class FaultedValueTaskBox<TResult> : WorkerValueTaskBox<TResult>
{
    protected override void Recycle()
    {
    }
}
