namespace Fastsock.Engine;

/// <summary>
/// Installed on each worker thread so that <c>await</c> in handler code (timers, other tasks) resumes on the
/// worker that owns the connection, never on the thread pool.
/// </summary>
internal sealed class WorkerSynchronizationContext : SynchronizationContext
{
    private static readonly Action<object?> s_invoke = static state =>
    {
        var (callback, callbackState) = ((SendOrPostCallback, object?))state!;
        callback(callbackState);
    };

    private readonly Worker _worker;

    public WorkerSynchronizationContext(Worker worker) => _worker = worker;

    /// <summary>The worker this context posts to: how code on a worker thread finds its worker.</summary>
    public Worker Worker => _worker;

    public override void Post(SendOrPostCallback d, object? state) => _worker.Post(s_invoke, (d, state));

    public override void Send(SendOrPostCallback d, object? state)
    {
        if (_worker.IsCurrentThread)
        {
            d(state);
            return;
        }

        using var done = new ManualResetEventSlim();
        _worker.Post(_ => { d(state); done.Set(); }, null);
        done.Wait();
    }

    public override SynchronizationContext CreateCopy() => this;
}
