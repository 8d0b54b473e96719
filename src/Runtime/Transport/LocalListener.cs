using Fastsock.Engine;
using Fastsock.Native;
using Microsoft.Extensions.Logging;

namespace Fastsock.Transport;

/// <summary>
/// A worker's listening socket for one endpoint. Registered level-triggered, so the accept loop can stop after a
/// batch (fairness to established connections) without losing the pending ones.
/// </summary>
internal sealed unsafe class LocalListener : IEpollHandler
{
    private const int AcceptsPerEvent = 64;
    private const int PauseAfterResourceErrorMs = 100;

    private readonly ListenerGroup _group;
    private readonly SocketConnectionPool _connections;
    private readonly ConnectionHandler _handler;
    private readonly bool _shared;
    private readonly ResumeTimer _resume;
    private ulong _token;
    private bool _registered;
    private bool _closed;

    public LocalListener(ListenerGroup group, int fd, bool shared, SocketConnectionPool connections, ConnectionHandler handler)
    {
        _group = group;
        Fd = fd;
        _shared = shared;
        _connections = connections;
        _handler = handler;
        _resume = new ResumeTimer(this);
    }

    public int Fd { get; }

    public Worker Worker => _connections.Worker;

    /// <summary>The worker's connection pool this listener rents from (shared by the worker's listeners).</summary>
    public SocketConnectionPool Connections => _connections;

    /// <summary>Adds the listener to its worker's epoll (before the worker starts, or on its thread).</summary>
    public void Register()
    {
        // EPOLLEXCLUSIVE on the shared listener wakes one worker per connection, not all of them.
        uint events = EpollCalls.EPOLLIN | (_shared ? EpollCalls.EPOLLEXCLUSIVE : 0);
        _token = Worker.Register(Fd, this, events);
        _registered = true;
    }

    public void OnEpollEvents(uint events)
    {
        var worker = Worker;
        for (int i = 0; i < AcceptsPerEvent && !_closed; i++)
        {
            var address = default(RawSocketAddress);
            Span<byte> bytes = address;
            int length = RawSocketAddress.Size;
            int fd;
            fixed (byte* pointer = bytes)
            {
                fd = SocketCalls.Accept4(Fd, pointer, &length, SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC);
            }

            if (fd >= 0)
            {
                _connections.Rent().Start(fd, address, _handler, outbound: false);
                continue;
            }

            int errno = Errno.Last;
            switch (errno)
            {
                case Errno.EAGAIN:
                    return;
                case Errno.EINTR:
                case Errno.ECONNABORTED:
                    continue;
                case Errno.EMFILE or 23 /* ENFILE */ or Errno.ENOBUFS or Errno.ENOMEM:
                    // Out of fds or memory: stop polling this listener for a moment instead of spinning on it.
                    ListenerLog.AcceptPaused(worker.Logger, worker.Index, _group.ListenEndPoint, errno, PauseAfterResourceErrorMs);
                    Pause();
                    return;
                default:
                    ListenerLog.AcceptFailed(worker.Logger, worker.Index, _group.ListenEndPoint, errno);
                    return;
            }
        }
    }

    /// <summary>Stops accepting on this worker (worker thread). Pending connections in a closed reuseport socket are reset by the kernel.</summary>
    public void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        Worker.Timers.Cancel(_resume);
        if (_registered)
        {
            if (_shared)
            {
                Worker.Deregister(Fd, _token);
            }
            else
            {
                Worker.Unregister(_token);
            }

            _registered = false;
        }

        if (!_shared)
        {
            _group.CloseMember(this);
        }
    }

    /// <summary>
    /// Stops accepting on this worker after a hand-over (worker thread): the socket now belongs to the successor too, so
    /// it leaves this worker's epoll explicitly (closing our fd would not remove it while the successor holds one) and
    /// stays in its reuseport group, with its queue, untouched. The group closes our fd when the server tears down.
    /// </summary>
    public void Release()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        Worker.Timers.Cancel(_resume);
        if (_registered)
        {
            Worker.Deregister(Fd, _token);
            _registered = false;
        }
    }

    private void Pause()
    {
        Worker.Deregister(Fd, _token);
        _registered = false;
        Worker.Timers.Schedule(_resume, Worker.NowMs, PauseAfterResourceErrorMs);
    }

    private sealed class ResumeTimer(LocalListener listener) : TimerEntry
    {
        public override void OnExpired()
        {
            if (!listener._closed && !listener._registered)
            {
                listener.Register();
            }
        }
    }
}

internal static partial class ListenerLog
{
    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Worker {Worker} stops accepting on {EndPoint} for {Milliseconds} ms: accept4 failed with errno {Error}; raise the fd limit (ulimit -n) or free memory")]
    public static partial void AcceptPaused(ILogger logger, int worker, System.Net.EndPoint endPoint, int error, int milliseconds);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Worker {Worker} accept4 on {EndPoint} failed with errno {Error}")]
    public static partial void AcceptFailed(ILogger logger, int worker, System.Net.EndPoint endPoint, int error);
}
