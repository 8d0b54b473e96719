using System.IO.Pipelines;
using Fastsock.Engine;

namespace Fastsock.Transport.Pipes;

/// <summary>
/// One direction of a socket connection: a <see cref="WorkerPipe"/> (the default: no lock, no block held while idle),
/// or System.IO.Pipelines' <see cref="Pipe"/> when FASTSOCK_WORKER_PIPES=0. The worker pipe refuses calls from other
/// threads with an error that says so; Pipe (thread-safe, a lock per call) accepts them, which is the way back for a
/// handler that cannot keep its pipe calls on the worker yet. A struct over one reference: the connection holds the
/// pipe itself, no wrapper object per direction.
/// </summary>
internal readonly struct ConnectionPipe
{
    private readonly object _pipe; // WorkerPipe, or SharedPipe when worker pipes are off

    private ConnectionPipe(object pipe) => _pipe = pipe;

    /// <summary>Read once at start-up from FASTSOCK_WORKER_PIPES: worker pipes unless it is "0".</summary>
    public static bool WorkerPipesEnabled { get; } = Environment.GetEnvironmentVariable("FASTSOCK_WORKER_PIPES") != "0";

    public PipeReader Reader => _pipe as WorkerPipe ?? ((SharedPipe)_pipe).Pipe.Reader;

    public PipeWriter Writer => _pipe is WorkerPipe workerPipe ? workerPipe.Writer : ((SharedPipe)_pipe).Pipe.Writer;

    /// <summary>
    /// A worker pipe when enabled; otherwise a Pipe over <paramref name="sharedOptions"/> (one options object per
    /// worker and direction, so pooled connections do not each carry one).
    /// </summary>
    public static ConnectionPipe Create(Worker worker, long pauseWriterThreshold, long resumeWriterThreshold, bool readerRunsInline, PipeOptions sharedOptions) =>
        WorkerPipesEnabled
            ? new ConnectionPipe(new WorkerPipe(worker, pauseWriterThreshold, resumeWriterThreshold, readerRunsInline))
            : new ConnectionPipe(new SharedPipe(new Pipe(sharedOptions)));

    public void Reset()
    {
        if (_pipe is WorkerPipe workerPipe)
        {
            workerPipe.Reset();
        }
        else
        {
            ((SharedPipe)_pipe).Pipe.Reset();
        }
    }

    /// <summary>Runs <paramref name="continuation"/> when the transport's pending <paramref name="read"/> completes.</summary>
    public void OnPendingReadCompleted(in ValueTask<ReadResult> read, Action<object?> continuation, object state)
    {
        if (_pipe is WorkerPipe workerPipe)
        {
            workerPipe.OnPendingReadCompleted(continuation, state);
            return;
        }

        // Created once per pooled connection, as the transport's delegate was before worker pipes.
        var shared = (SharedPipe)_pipe;
        read.GetAwaiter().UnsafeOnCompleted(shared.ReadContinuation ??= Bind(continuation, state));
    }

    // Its own method: a lambda capturing OnPendingReadCompleted's parameters would allocate a closure on every call.
    private static Action Bind(Action<object?> continuation, object state) => () => continuation(state);

    /// <summary>The fallback pipe and the transport's cached continuation for it.</summary>
    private sealed class SharedPipe(Pipe pipe)
    {
        public Pipe Pipe { get; } = pipe;

        public Action? ReadContinuation { get; set; }
    }
}
