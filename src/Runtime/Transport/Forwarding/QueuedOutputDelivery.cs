using System.Threading.Tasks.Sources;
using Fastsock.Engine;
using Fastsock.Native;
using Fastsock.Transport.Tls;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// Waits, before a forward resets a connection, until the bytes queued for it have reached its peer: its output pipe
/// is in the socket and the kernel's send queue is empty (SIOCOUTQ: sent and acknowledged). A reset (SO_LINGER 0)
/// throws away both, so without the wait the good bytes a side received just before the other side failed would never
/// arrive. Polled on the worker's timer wheel, one tick at a time, never blocking the worker; bounded by a timeout,
/// after which the caller resets anyway (a peer that stopped reading must not hold the connection open). A connection
/// whose own peer has reset it too (or that failed) ends the wait at the next tick: its queue would never empty.
/// </summary>
internal sealed class QueuedOutputDelivery : TimerEntry, IValueTaskSource
{
    /// <summary>How long a peer may take to read what was queued for it before it is reset anyway.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private static readonly Action<object?> s_finish = static state => ((QueuedOutputDelivery)state!)._done.SetResult(true);

    private readonly Worker _worker;
    private readonly SocketConnection _socket;
    private readonly long _deadlineMs;

    // Completed from the worker's run queue, not inside the timer wheel's turn (the continuation resets connections,
    // which cancels their timers), and never through a SynchronizationContext: the continuation runs inline, on the
    // worker. A Task would send an await with ConfigureAwait(false) to the thread pool from under the worker's context.
    private ManualResetValueTaskSourceCore<bool> _done;

    private QueuedOutputDelivery(Worker worker, SocketConnection socket, long deadlineMs)
    {
        _worker = worker;
        _socket = socket;
        _deadlineMs = deadlineMs;
    }

    /// <summary>
    /// Completes on <paramref name="worker"/> once what was flushed to <paramref name="connection"/> has reached its
    /// peer, the connection has closed or is gone (reset by its peer, failed), or <paramref name="timeout"/> has
    /// passed; at once when there is no socket to
    /// watch (an in-memory connection) or the caller is off the worker.
    /// </summary>
    public static ValueTask WaitAsync(Worker? worker, Connection connection, TimeSpan timeout)
    {
        if (worker is null || !worker.IsCurrentThread || SocketUnder(connection) is not { } socket || Delivered(socket))
        {
            return ValueTask.CompletedTask;
        }

        long now = Environment.TickCount64;
        var delivery = new QueuedOutputDelivery(worker, socket, now + TimerWheel.Milliseconds(timeout));
        worker.Timers.Schedule(delivery, now, TimerWheel.TickMilliseconds);
        return new ValueTask(delivery, delivery._done.Version);
    }

    public override void OnExpired()
    {
        if (Delivered(_socket) || _worker.NowMs >= _deadlineMs)
        {
            _worker.Post(s_finish, this);
            return;
        }

        _worker.Timers.Schedule(this, _worker.NowMs, TimerWheel.TickMilliseconds);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _done.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _done.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext);

    void IValueTaskSource.GetResult(short token) => _done.GetResult(token);

    /// <summary>The socket a connection's bytes leave by: its own, an outbound one's, or the one under its TLS records.</summary>
    private static SocketConnection? SocketUnder(Connection connection) =>
        connection is TlsConnectionBase tls ? SocketUnder(tls.Inner) : SpliceForwarder.AsSocket(connection);

    private static unsafe bool Delivered(SocketConnection socket)
    {
        int fd = socket.Fd;
        if (fd < 0 || Gone(fd))
        {
            return true; // closed, or nothing more can ever reach the peer: nothing left to wait for
        }

        if (!socket.OutputInSocket)
        {
            return false;
        }

        int queued = 0;
        return IoctlCalls.Ioctl(fd, IoctlCalls.SIOCOUTQ, &queued) != 0 || queued == 0;
    }

    /// <summary>
    /// The TCP connection is in state CLOSE: its peer reset it, or it failed (a retransmission timeout, say). Neither
    /// the output pipe nor the send queue will ever drain then, and SIOCOUTQ goes on counting the bytes that were queued.
    /// Read as the first byte of TCP_INFO (tcpi_state): unlike SO_ERROR it does not take the socket's pending error
    /// away from the transport. False for an AF_UNIX socket (no TCP_INFO): when its peer closes, the bytes it did not read
    /// are freed and the queue empties by itself.
    /// </summary>
    private static unsafe bool Gone(int fd)
    {
        byte state = 0;
        int length = sizeof(byte);
        return SocketCalls.GetOption(fd, SocketCalls.IPPROTO_TCP, SocketCalls.TCP_INFO, &state, &length) == 0 && length == sizeof(byte)
            && state == SocketCalls.TCP_CLOSE;
    }
}
