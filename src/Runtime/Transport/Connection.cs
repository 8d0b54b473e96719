using System.IO.Pipelines;
using System.Net;

namespace Fastsock.Transport;

/// <summary>
/// One connection, owned by one worker for its whole life. Handler code reads and writes through
/// <see cref="Transport"/>; its continuations run on the owning worker's thread.
/// </summary>
public abstract class Connection
{
    /// <summary>Only the runtime makes connections: its transports hold what the members promise (a worker, its timer wheel).</summary>
    private protected Connection()
    {
    }

    /// <summary>The input (what the peer sent) and output (what to send) pipes.</summary>
    public abstract IDuplexPipe Transport { get; }

    /// <summary>The local address of the socket; null for an in-memory connection.</summary>
    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>The peer's address; null for an in-memory connection.</summary>
    public abstract EndPoint? RemoteEndPoint { get; }

    /// <summary>Index of the worker that owns this connection.</summary>
    public abstract int WorkerIndex { get; }

    /// <summary>CPU the owning worker is pinned to.</summary>
    public abstract int WorkerCpu { get; }

    /// <summary>
    /// The CPU that processed this connection's incoming packets (SO_INCOMING_CPU), recorded after its first
    /// received bytes; -1 when unknown. Equal to <see cref="WorkerCpu"/> when the connection is local.
    /// </summary>
    public abstract int IncomingCpu { get; }

    /// <summary>Cancelled when the connection has closed (either side, or aborted).</summary>
    public abstract CancellationToken ConnectionClosed { get; }

    /// <summary>
    /// True once the server began a graceful shutdown. When it turns true the handler's pending read completes with
    /// <see cref="ReadResult.IsCanceled"/>; a handler should then finish the request in flight and return.
    /// </summary>
    public abstract bool IsShutdownRequested { get; }

    /// <summary>Closes the connection at once with a reset (RST); pending output is discarded.</summary>
    public abstract void Abort();

    /// <summary>
    /// Cancelled (on the connection's worker) once the peer's input has ended: its FIN was read, or the connection
    /// failed or closed, whether or not the handler has read everything before it. Lets a handler waiting on something
    /// else (a backend) notice a client that left. <see cref="CancellationToken.None"/> where not tracked.
    /// </summary>
    public virtual CancellationToken InputEnded => CancellationToken.None;

    private ReadDeadline? _readDeadline;

    /// <summary>
    /// Arms (or re-arms) a deadline for reading: when <paramref name="timeout"/> passes first, the pending read of
    /// <see cref="Transport"/>'s input completes with <see cref="ReadResult.IsCanceled"/> and <see cref="ReadTimedOut"/>
    /// is true. Runs on the owning worker's timer wheel (50 ms grain, no lock, no thread hop), so it is cheap enough to
    /// arm per request. Call it on the connection's worker, i.e. from its handler. <see cref="Timeout.InfiniteTimeSpan"/>
    /// disarms it; zero or another negative value is refused (<see cref="ArgumentOutOfRangeException"/>).
    /// </summary>
    public void SetReadDeadline(TimeSpan timeout)
    {
        var worker = DeadlineWorker ?? throw new NotSupportedException($"{GetType().Name} has no worker to time reads on.");
        (_readDeadline ??= new ReadDeadline(this)).Arm(worker, timeout);
    }

    /// <summary>Disarms the read deadline and clears <see cref="ReadTimedOut"/>.</summary>
    public void ClearReadDeadline() => _readDeadline?.Disarm();

    /// <summary>True when the deadline set with <see cref="SetReadDeadline"/> passed before it was cleared.</summary>
    public bool ReadTimedOut => _readDeadline?.TimedOut ?? false;

    /// <summary>The worker whose timer wheel times reads on this connection.</summary>
    private protected virtual Engine.Worker? DeadlineWorker => null;

    /// <summary>
    /// Called by a handler of the runtime's own (the HTTP server loop) while the connection's handler is being
    /// started: it promises to call <see cref="HandlerEnding"/> when it ends, so the transport need not keep a
    /// continuation on the handler's task for the whole life of the connection (one delegate and one continuation
    /// object per idle connection). Called at any other time, it does nothing.
    /// </summary>
    internal virtual void ExpectHandlerEndSignal()
    {
    }

    /// <summary>The handler that promised it (<see cref="ExpectHandlerEndSignal"/>) is returning: look at its task.</summary>
    internal virtual void HandlerEnding()
    {
    }
}

/// <summary>Application code for one connection. The connection closes when the returned task completes.</summary>
public delegate Task ConnectionHandler(Connection connection);

/// <summary>The connection was aborted locally (Abort, shutdown timeout, handler failure).</summary>
public sealed class ConnectionAbortedException : OperationCanceledException
{
    /// <summary>An abort with the default message.</summary>
    public ConnectionAbortedException()
        : base("The connection was aborted.")
    {
    }

    /// <summary>An abort that <paramref name="message"/> explains.</summary>
    public ConnectionAbortedException(string message)
        : base(message)
    {
    }

    /// <summary>An abort that <paramref name="message"/> explains, caused by <paramref name="innerException"/>.</summary>
    public ConnectionAbortedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The peer reset the connection, or the network failed it.</summary>
public sealed class ConnectionResetException : IOException
{
    /// <summary>A reset with the default message.</summary>
    public ConnectionResetException()
        : base("The connection was reset by the peer.")
    {
    }

    /// <summary>A reset that <paramref name="message"/> explains.</summary>
    public ConnectionResetException(string message)
        : base(message)
    {
    }

    /// <summary>A reset that <paramref name="message"/> explains, caused by <paramref name="innerException"/>.</summary>
    public ConnectionResetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
