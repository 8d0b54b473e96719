using System.IO.Pipelines;

namespace Fastsock.Engine;

/// <summary>
/// The <see cref="PipeScheduler"/> of every pipe a worker owns: continuations run on the worker's thread, in its
/// run queue, so a handler's <c>await</c> comes back to the same core.
/// </summary>
internal sealed class WorkerScheduler : PipeScheduler
{
    private readonly Worker _worker;

    public WorkerScheduler(Worker worker) => _worker = worker;

    public override void Schedule(Action<object?> action, object? state) => _worker.Post(action, state);
}
