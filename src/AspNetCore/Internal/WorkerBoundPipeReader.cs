using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;

namespace Fastsock.AspNetCore.Internal;

/// <summary>
/// The connection's input as Kestrel reads it. Kestrel starts each connection on the thread pool; a read called off the
/// connection's worker first hops onto the worker, so Kestrel's parser resumes there, and with it the middleware
/// and the endpoint. On the worker every call goes straight to the runtime's pipe.
/// </summary>
internal sealed class WorkerBoundPipeReader(PipeReader inner, Worker worker) : PipeReader
{
    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
        worker.IsCurrentThread ? inner.ReadAsync(cancellationToken) : ReadOnWorkerAsync(cancellationToken);

    public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    private async ValueTask<ReadResult> ReadOnWorkerAsync(CancellationToken cancellationToken)
    {
        await new WorkerHop(worker);
        return await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Awaiting it continues on the worker's thread, through its run queue.</summary>
    private readonly struct WorkerHop(Worker worker) : ICriticalNotifyCompletion
    {
        private static readonly Action<object?> s_run = static state => ((Action)state!)();

        public WorkerHop GetAwaiter() => this;

        public bool IsCompleted => false;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => worker.Post(s_run, continuation);

        public void UnsafeOnCompleted(Action continuation) => worker.Post(s_run, continuation);
    }
}
