using Fastsock.Engine;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// Starts a splice forward once the output the handler flushed just before it has been sent. That output goes out in
/// the worker's end-of-turn flush; this object is queued in the same flush list behind the connections, so it runs
/// right after their writev. If the output could not all be sent (socket buffer full) it forwards by copy instead:
/// spliced bytes must never overtake bytes waiting in an output pipe.
/// </summary>
internal sealed class DeferredSplice(Worker worker, Connection first, Connection second, ForwardingOptions options) : IFlushable
{
    private const int MaxAttempts = 4;

    private readonly TaskCompletionSource<ForwardResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _attempts;

    public Task<ForwardResult> Completion => _done.Task;

    IFlushable? IFlushable.NextFlush { get; set; }

    public void Schedule() => worker.QueueFlush(this);

    public void Flush()
    {
        var readiness = SpliceForwarder.Check(worker, first, second);
        if (readiness == SpliceReadiness.OutputPending && ++_attempts < MaxAttempts)
        {
            worker.QueueFlush(this);
            return;
        }

        if (readiness != SpliceReadiness.Ready || !SpliceForwarder.TryStart(worker, first, second, options, out var task))
        {
            task = CopyForwarder.RunAsync(first, second, worker, options);
        }

        task.ContinueWith(
            static (t, state) => ((TaskCompletionSource<ForwardResult>)state!).TrySetResult(t.Result),
            _done,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
