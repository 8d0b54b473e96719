using System.IO.Pipelines;
using System.Net;
using Fastsock.Engine;
using Fastsock.Native;

namespace Fastsock.Transport;

/// <summary>
/// One outbound connection, from the non-blocking connect to the last byte. While connecting it is registered in the
/// worker's epoll for EPOLLOUT and carries the connect timeout; once connected it hands the fd to a pooled
/// <see cref="SocketConnection"/> whose handler is this object's lifetime: the connection stays open until the caller
/// has completed both <see cref="Transport"/> ends (after <see cref="Abort"/> too), then the transport sends what is
/// left, closes and recycles.
/// </summary>
internal sealed partial class OutboundConnection : Connection, IDuplexPipe, IEpollHandler
{
    private readonly WorkerConnector _connector;
    private readonly EndPoint _remote;
    private readonly RawSocketAddress _remoteAddress;
    private readonly TaskCompletionSource<Connection> _connected = new();
    private readonly TaskCompletionSource _lifetime = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConnectTimer _timer;
    private readonly ConnectionHandler _lifetimeHandler;
    private CancellationTokenRegistration _cancellation;
    private SocketConnection? _socket;
    private OutboundReader? _input;
    private OutboundWriter? _output;
    private int _fd = -1;
    private ulong _token;
    private bool _inputCompleted;
    private EndPoint? _localEndPoint;
    private int _incomingCpu = -1;
    private bool _outputCompleted;

    public OutboundConnection(WorkerConnector connector, EndPoint remote)
    {
        _connector = connector;
        _remote = remote;
        if (remote is IPEndPoint ip)
        {
            _remoteAddress = RawSocketAddress.From(ip);
        }
        else
        {
            _unixAddress = UnixSocketAddress.From((System.Net.Sockets.UnixDomainSocketEndPoint)remote);
        }

        _timer = new ConnectTimer(this);
        _lifetimeHandler = _ => _lifetime.Task;
    }

    public Task<Connection> Connected => _connected.Task;

    internal EndPoint Remote => _remote;

    /// <summary>The transport underneath while the connection is open (the splice engine needs its fd).</summary>
    internal SocketConnection? Socket => _socket;

    internal ref readonly RawSocketAddress RemoteAddress => ref _remoteAddress;

    public override IDuplexPipe Transport => this;

    PipeReader IDuplexPipe.Input => _input!;

    PipeWriter IDuplexPipe.Output => _output!;

    public override EndPoint? LocalEndPoint => _localEndPoint ??= _socket?.LocalEndPoint;

    public override EndPoint? RemoteEndPoint => _remote;

    public override int WorkerIndex => _connector.Worker.Index;

    private protected override Worker? DeadlineWorker => _connector.Worker;

    public override int WorkerCpu => _connector.Worker.Cpu;

    public override int IncomingCpu => _socket?.IncomingCpu ?? _incomingCpu;

    public override CancellationToken ConnectionClosed => _socket?.ConnectionClosed ?? new CancellationToken(canceled: true);

    public override CancellationToken InputEnded => _socket?.InputEnded ?? new CancellationToken(canceled: true);

    public override bool IsShutdownRequested => _socket?.IsShutdownRequested ?? false;

    public override void Abort() => _socket?.Abort();

    /// <summary>Waits for the connect on <paramref name="fd"/> (connect returned EINPROGRESS). Worker thread only.</summary>
    public void WaitForConnect(int fd, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var worker = _connector.Worker;
        _token = worker.Register(fd, this, EpollCalls.EPOLLOUT | EpollCalls.EPOLLET);

        // Only once registered: when Register throws, the connector closes fd, and this must not hold its number.
        _fd = fd;

        // The clock now, not the one read at the start of the worker's turn: a connect started late in a long turn
        // would otherwise time out up to that turn's length early. No timer for an infinite timeout (the wheel would
        // fire its -1 ms at the next tick); StopWaiting's Cancel of an unscheduled timer does nothing.
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            worker.Timers.Schedule(_timer, Environment.TickCount64, timeout);
        }

        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(static state =>
            {
                var self = (OutboundConnection)state!;
                self._connector.Worker.Post(static s => ((OutboundConnection)s!).OnCancelled(), self);
            }, this);
        }
    }

    public void OnEpollEvents(uint events)
    {
        if (_fd < 0)
        {
            return;
        }

        int error = SocketCalls.GetInt(_fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_ERROR);
        if (error == 0 && (events & EpollCalls.EPOLLOUT) == 0)
        {
            return; // not writable yet: the connect is still in flight
        }

        int fd = StopWaiting();
        if (error != 0)
        {
            FileCalls.Close(fd);
            _connector.OnConnectFailed(this, new NativeCallException($"connect({_remote})", error < 0 ? Errno.ECONNREFUSED : error));
            return;
        }

        // The connected socket moves to its SocketConnection, which registers it for its whole life.
        Established(fd);
    }

    /// <summary>Gives the connected fd to a pooled SocketConnection and completes the connect.</summary>
    public void Established(int fd)
    {
        var socket = _connector.RentSocket();
        _socket = socket;
        _input = new OutboundReader(this, ((IDuplexPipe)socket).Input);
        _output = new OutboundWriter(this, ((IDuplexPipe)socket).Output);
        socket.Start(fd, _remoteAddress, _lifetimeHandler, outbound: true);
        if (socket.Fd < 0)
        {
            _connector.OnConnectFailed(this, new IOException($"connect({_remote}) succeeded but the connection could not be registered on worker {WorkerIndex}; see the log."));
            return;
        }

        // Read now: the transport closes the fd as soon as both directions are done, which may precede the caller's questions.
        _localEndPoint = socket.LocalEndPoint;
        _connected.TrySetResult(this);
    }

    public void Fail(Exception error)
    {
        ForgetCancellation();
        _connected.TrySetException(error);
    }

    /// <summary>The caller completed one pipe end; with both complete the transport may finish and recycle.</summary>
    public void OnEndCompleted(bool input)
    {
        if (input)
        {
            _inputCompleted = true;
        }
        else
        {
            _outputCompleted = true;
        }

        if (_inputCompleted && _outputCompleted && _socket is { } socket)
        {
            // Keep what callers may still ask, then let go: the pooled SocketConnection will serve someone else.
            _localEndPoint ??= socket.LocalEndPoint;
            _incomingCpu = socket.IncomingCpu;
            _socket = null;
            _lifetime.TrySetResult();
        }
    }

    private int StopWaiting()
    {
        int fd = _fd;
        _fd = -1;
        _connector.Worker.Timers.Cancel(_timer);
        _connector.Worker.Deregister(fd, _token);
        ForgetCancellation();
        return fd;
    }

    /// <summary>
    /// The caller's token matters only while connecting. A disposed registration still references the token's callback
    /// node and, through it, the token's source (a proxy's linked connect-timeout source), which would then live as
    /// long as the connection: about 0.2 KB per backend connection.
    /// </summary>
    private void ForgetCancellation()
    {
        _cancellation.Dispose();
        _cancellation = default;
    }

    private void OnTimeout()
    {
        if (_fd < 0)
        {
            return;
        }

        FileCalls.Close(StopWaiting());
        var timeout = _connector.Options.ConnectTimeout;
        _connector.OnConnectFailed(this, new TimeoutException(
            $"connect({_remote}) timed out after {timeout.TotalMilliseconds:0} ms on worker {WorkerIndex}: no answer from the peer. Check the address, or raise Outbound.ConnectTimeout."));
    }

    private void OnCancelled() => CancelConnect($"connect({_remote}) was cancelled.");

    /// <summary>Gives up a connect still in flight (cancellation, server shutdown). Worker thread only.</summary>
    public void CancelConnect(string reason)
    {
        if (_fd < 0)
        {
            return;
        }

        FileCalls.Close(StopWaiting());
        _connector.OnConnectFailed(this, new OperationCanceledException(reason));
    }

    private sealed class ConnectTimer(OutboundConnection owner) : TimerEntry
    {
        public override void OnExpired() => owner.OnTimeout();
    }
}
