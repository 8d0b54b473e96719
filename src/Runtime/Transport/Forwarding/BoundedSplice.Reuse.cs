using System.Threading.Tasks.Sources;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// How one <see cref="BoundedSplice"/> serves splice after splice: it is the source of its caller's
/// <see cref="ValueTask{TResult}"/> (no Task, no TaskCompletionSource), and goes back to its worker's cache once the caller
/// has read the result, as the pooled state machines of <see cref="Engine.WorkerStateMachineBox{TResult, TStateMachine}"/> do.
/// </summary>
/// <remarks>
/// <para>
/// The cache is thread-static: a splice starts only on its connections' worker thread, so each worker has its own, with
/// no lock and nothing shared between cores. It grows to the most splices in flight at once on that worker (doubling up
/// to <see cref="MaxCacheCapacity"/>; beyond it, a finished splice is left to the GC).
/// </para>
/// <para>
/// The result is never given from inside the splice's own calls: <see cref="Complete"/> posts it to the worker's queue,
/// so the caller's continuation (which may start the next splice with this very object) runs once the sockets' event
/// handlers and the timer wheel have let go of it. The object is also a timer entry, a flush-list entry and the state of
/// a posted resume: it is cached only when it is linked nowhere (the timer is cancelled when the splice finishes, a
/// flush entry and a resume posted earlier have run by then: the worker's queue is first in, first out); otherwise it is
/// dropped rather than reused under a stale link.
/// </para>
/// </remarks>
internal sealed partial class BoundedSplice : IValueTaskSource<ForwardResult>
{
    internal const int InitialCacheCapacity = 16;
    internal const int MaxCacheCapacity = 1 << 12;

    private static readonly Action<object?> s_complete = static state => ((BoundedSplice)state!).SignalResult();

    [ThreadStatic]
    private static BoundedSplice?[]? t_cache;

    [ThreadStatic]
    private static int t_cached;

    private ManualResetValueTaskSourceCore<ForwardResult> _core;
    private ForwardResult _result;

    /// <summary>The caller's view of this use of the object.</summary>
    private ValueTask<ForwardResult> Pending => new(this, _core.Version);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    // Completed only by a work item on the worker's own thread: the continuation runs inline there, where a scheduling
    // context would post it again (and allocate a callback to do so).
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext);

    public ForwardResult GetResult(short token)
    {
        // Throws for a stale token or a splice still running, before anything is reset.
        var result = _core.GetResult(token);
        _core.Reset();
        ReturnToCache();
        return result;
    }

    private static BoundedSplice Rent()
    {
        var cache = t_cache;
        int count = t_cached;
        if (cache is not null && count > 0)
        {
            count--;
            var splice = cache[count]!;
            cache[count] = null;
            t_cached = count;
            return splice;
        }

        return new BoundedSplice();
    }

    /// <summary>Ends this use of the object with <paramref name="result"/>, given to the caller from the worker's queue.</summary>
    private void Complete(in ForwardResult result)
    {
        _result = result;
        _worker.Post(s_complete, this);
    }

    private void SignalResult() => _core.SetResult(_result); // the continuation may reuse this object: nothing after it

    /// <summary>Drops the connections this use held and caches the object, when it is linked nowhere and on its worker.</summary>
    private void ReturnToCache()
    {
        var worker = _worker;
        _result = default;
        _from = null!;
        _to = null!;
        _options = null!;
        _sourceEnd.Clear();
        _targetEnd.Clear();
        if (_flushQueued || _resumePosted || IsScheduled || worker is null || !worker.IsCurrentThread)
        {
            return;
        }

        _worker = null!;
        var cache = t_cache ??= new BoundedSplice?[InitialCacheCapacity];
        int count = t_cached;
        if (count == cache.Length && count < MaxCacheCapacity)
        {
            Array.Resize(ref cache, count * 2);
            t_cache = cache;
        }

        if (count < cache.Length)
        {
            cache[count] = this;
            t_cached = count + 1;
        }
    }
}
