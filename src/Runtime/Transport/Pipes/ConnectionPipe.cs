using System.IO.Pipelines;
using Fastsock.Engine;

namespace Fastsock.Transport.Pipes;

/// <summary>
/// One direction of a socket connection: a <see cref="WorkerPipe"/> (the default: no lock, no block held while idle),
/// or System.IO.Pipelines' <see cref="Pipe"/> when FASTSOCK_WORKER_PIPES=0. The worker pipe refuses calls from other
/// threads with an error that says so; Pipe (thread-safe, a lock per call) accepts them, which is the way back for a
/// handler that cannot keep its pipe calls on the worker yet.
/// </summary>
internal sealed class ConnectionPipe
{
    private readonly WorkerPipe? _workerPipe;
    private readonly Pipe? _sharedPipe;
    private Action? _legacyReadContinuation;

    private ConnectionPipe(WorkerPipe workerPipe) => _workerPipe = workerPipe;

    private ConnectionPipe(Pipe sharedPipe) => _sharedPipe = sharedPipe;

    /// <summary>Read once at start-up from FASTSOCK_WORKER_PIPES: worker pipes unless it is "0".</summary>
    public static bool WorkerPipesEnabled { get; } = Environment.GetEnvironmentVariable("FASTSOCK_WORKER_PIPES") != "0";

    // Not stored: two fields fewer on every idle connection.
    public PipeReader Reader => _workerPipe is not null ? _workerPipe.Reader : _sharedPipe!.Reader;

    public PipeWriter Writer => _workerPipe is not null ? _workerPipe.Writer : _sharedPipe!.Writer;

    /// <summary>
    /// A worker pipe when enabled; otherwise a Pipe over <paramref name="sharedOptions"/> (one options object per
    /// worker and direction, so pooled connections do not each carry one). <paramref name="threadSafe"/> asks for the Pipe.
    /// </summary>
    public static ConnectionPipe Create(Worker worker, long pauseWriterThreshold, long resumeWriterThreshold, bool readerRunsInline, PipeOptions sharedOptions, bool threadSafe = false) =>
        WorkerPipesEnabled && !threadSafe
            ? new ConnectionPipe(new WorkerPipe(worker, pauseWriterThreshold, resumeWriterThreshold, readerRunsInline))
            : new ConnectionPipe(new Pipe(sharedOptions));

    public void Reset()
    {
        if (_workerPipe is not null)
        {
            _workerPipe.Reset();
        }
        else
        {
            _sharedPipe!.Reset();
        }
    }

    /// <summary>Runs <paramref name="continuation"/> when the transport's pending <paramref name="read"/> completes.</summary>
    public void OnPendingReadCompleted(in ValueTask<ReadResult> read, Action<object?> continuation, object state)
    {
        if (_workerPipe is not null)
        {
            _workerPipe.OnPendingReadCompleted(continuation, state);
            return;
        }

        // Created once per pooled connection, as the transport's delegate was before worker pipes.
        read.GetAwaiter().UnsafeOnCompleted(_legacyReadContinuation ??= Bind(continuation, state));
    }

    // Its own method: a lambda capturing OnPendingReadCompleted's parameters would allocate a closure on every call.
    private static Action Bind(Action<object?> continuation, object state) => () => continuation(state);
}
