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

    /// <summary>The writing end; converts to the <see cref="PipeWriter"/> a handler is given.</summary>
    public ConnectionPipeWriter Writer => new(_pipe as WorkerPipe, (_pipe as SharedPipe)?.Pipe);

    /// <summary>
    /// A worker pipe over <paramref name="settings"/> when enabled; otherwise a Pipe over <paramref name="sharedOptions"/>
    /// (both one object per worker and direction, so pooled connections do not each carry one). <paramref name="threadSafe"/>
    /// asks for the Pipe (a connection other threads touch, as Kestrel's).
    /// </summary>
    public static ConnectionPipe Create(WorkerPipeSettings settings, PipeOptions sharedOptions, bool threadSafe = false) =>
        WorkerPipesEnabled && !threadSafe
            ? new ConnectionPipe(new WorkerPipe(settings))
            : new ConnectionPipe(new SharedPipe(new Pipe(sharedOptions)));

    /// <summary>Starts loading the pipe's object (a hint, see <see cref="CachePrefetch"/>).</summary>
    public void Prefetch() => CachePrefetch.Object(_pipe);

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
        shared.PendingRead = read;
        read.GetAwaiter().UnsafeOnCompleted(shared.ReadContinuation ??= Bind(continuation, state));
    }

    /// <summary>
    /// Whether the writer flushed more after <paramref name="read"/> was taken, so that a new read would return more.
    /// The worker pipe counts its flushed bytes; System.IO.Pipelines' Pipe cannot say, and gets false.
    /// </summary>
    public bool FlushedSince(in ReadResult read) => _pipe is WorkerPipe workerPipe && workerPipe.FlushedBytes > read.Buffer.Length;

    /// <summary>The read <see cref="OnPendingReadCompleted"/> waited for, to take its result.</summary>
    public ValueTask<ReadResult> TakePendingRead()
    {
        if (_pipe is WorkerPipe workerPipe)
        {
            return workerPipe.PendingRead;
        }

        var shared = (SharedPipe)_pipe;
        var read = shared.PendingRead;
        shared.PendingRead = default;
        return read;
    }

    /// <summary>Runs <paramref name="continuation"/> when the transport's pending <paramref name="flush"/> completes.</summary>
    public void OnPendingFlushCompleted(in ValueTask<FlushResult> flush, Action continuation)
    {
        if (_pipe is SharedPipe shared)
        {
            shared.PendingFlush = flush;
        }

        flush.GetAwaiter().UnsafeOnCompleted(continuation);
    }

    /// <summary>The flush <see cref="OnPendingFlushCompleted"/> waited for, to take its result.</summary>
    public ValueTask<FlushResult> TakePendingFlush()
    {
        if (_pipe is WorkerPipe workerPipe)
        {
            return workerPipe.PendingFlush;
        }

        var shared = (SharedPipe)_pipe;
        var flush = shared.PendingFlush;
        shared.PendingFlush = default;
        return flush;
    }

    // Its own method: a lambda capturing OnPendingReadCompleted's parameters would allocate a closure on every call.
    private static Action Bind(Action<object?> continuation, object state) => () => continuation(state);

    /// <summary>The fallback pipe, the transport's cached continuation for it and the operations it waits on.</summary>
    private sealed class SharedPipe(Pipe pipe)
    {
        public Pipe Pipe { get; } = pipe;

        public Action? ReadContinuation { get; set; }

        public ValueTask<ReadResult> PendingRead { get; set; }

        public ValueTask<FlushResult> PendingFlush { get; set; }
    }
}
