using System.IO.Pipelines;
using System.Net;
using Fastsock.Engine;
using Fastsock.Native;
using Fastsock.Transport.Pipes;

namespace Fastsock.Transport;

/// <summary>
/// A TCP (or AF_UNIX) connection on a raw non-blocking fd, registered once in its worker's epoll
/// (edge-triggered). Reads land in the input pipe; output is gathered and sent with one writev per loop turn.
/// Split by concern: Receive, Send, Close. Objects are reused through the worker's connection pool.
/// </summary>
internal sealed partial class SocketConnection : Connection, IDuplexPipe, IEpollHandler, IFlushable
{
    private const uint EpollInterest = EpollCalls.EPOLLIN | EpollCalls.EPOLLOUT | EpollCalls.EPOLLRDHUP | EpollCalls.EPOLLET;

    private readonly Worker _worker;
    private readonly ConnectionOptions _options;
    private readonly ConnectionPipe _input;
    private readonly ConnectionPipe _output;
    private readonly IdleTimer _idleTimer;
    private int _fd = -1;
    private ulong _token;
    private bool _registered;
    private RawSocketAddress _remoteAddress;
    private IPEndPoint? _remoteEndPoint;
    private IPEndPoint? _localEndPoint;
    private ConnectionHandler? _handler;
    private bool _isOutbound;
    private bool _shutdownRequested;
    private CancellationTokenSource? _closedSource;
    private CancellationTokenSource? _inputEndedSource;
    private long _lastActivityMs;

    public SocketConnection(Worker worker, ConnectionOptions options, PipeOptions inputOptions, PipeOptions outputOptions)
    {
        _worker = worker;
        _options = options;

        // Input: the handler's continuation goes through the worker's run queue. Output: the reader is the transport;
        // its continuation only marks the connection for the end-of-turn writev, so it runs inline in the flush.
        _input = ConnectionPipe.Create(worker, options.MaxInputBufferSize, options.MaxInputBufferSize / 2, readerRunsInline: false, inputOptions, options.ThreadSafePipes);
        _output = ConnectionPipe.Create(worker, options.MaxOutputBufferSize, options.MaxOutputBufferSize / 2, readerRunsInline: true, outputOptions, options.ThreadSafePipes);
        _idleTimer = new IdleTimer(this);
        _onHandlerCompleted = OnHandlerCompleted;
    }

    /// <summary>Input pipe settings when worker pipes are off, shared by a worker's connections: its pool, its scheduler, the backpressure limits.</summary>
    public static PipeOptions InputPipeOptions(Worker worker, ConnectionOptions options) => new(
        pool: worker.Pool,
        readerScheduler: worker.Scheduler,
        writerScheduler: worker.Scheduler,
        pauseWriterThreshold: options.MaxInputBufferSize,
        resumeWriterThreshold: options.MaxInputBufferSize / 2,
        minimumSegmentSize: Memory.CoreMemoryPool.BlockSize,
        useSynchronizationContext: false);

    /// <summary>Output pipe settings when worker pipes are off; the reader (the transport) runs inline, as with worker pipes.</summary>
    public static PipeOptions OutputPipeOptions(Worker worker, ConnectionOptions options) => new(
        pool: worker.Pool,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: worker.Scheduler,
        pauseWriterThreshold: options.MaxOutputBufferSize,
        resumeWriterThreshold: options.MaxOutputBufferSize / 2,
        minimumSegmentSize: Memory.CoreMemoryPool.BlockSize,
        useSynchronizationContext: false);

    public override IDuplexPipe Transport => this;

    PipeReader IDuplexPipe.Input => _input.Reader;

    PipeWriter IDuplexPipe.Output => _output.Writer;

    public override EndPoint? RemoteEndPoint => _remoteEndPoint ??= _remoteAddress.ToEndPoint();

    public override EndPoint? LocalEndPoint => _localEndPoint ??= ReadLocalEndPoint();

    public override int WorkerIndex => _worker.Index;

    private protected override Worker? DeadlineWorker => _worker;

    public override int WorkerCpu => _worker.Cpu;

    public override int IncomingCpu => _incomingCpu;

    public override bool IsShutdownRequested => _shutdownRequested;

    public override CancellationToken InputEnded
    {
        get
        {
            // Created on first use, like ConnectionClosed's.
            _inputEndedSource ??= new CancellationTokenSource();
            if (_receiveEnded || _closed)
            {
                _inputEndedSource.Cancel();
            }

            return _inputEndedSource.Token;
        }
    }

    public override CancellationToken ConnectionClosed
    {
        get
        {
            // Created on first use: most handlers never ask, and then a connection costs no token source.
            _closedSource ??= new CancellationTokenSource();
            if (_closed)
            {
                _closedSource.Cancel();
            }

            return _closedSource.Token;
        }
    }

    /// <summary>An AF_UNIX connection (its remote address is not an IP one): no TCP options, no locality to measure.</summary>
    private bool IsLocalSocket => _remoteAddress.Family is not (SocketCalls.AF_INET or SocketCalls.AF_INET6);

    /// <summary>The fd, for tests and diagnostics.</summary>
    internal int Fd => _fd;

    IFlushable? IFlushable.NextFlush { get; set; }

    /// <summary>Takes ownership of an accepted (or connected) fd and starts the handler. Worker thread only.</summary>
    public void Start(int fd, in RawSocketAddress remote, ConnectionHandler handler, bool outbound)
    {
        _fd = fd;
        _remoteAddress = remote;
        _handler = handler;
        _isOutbound = outbound;
        _lastActivityMs = _worker.NowMs;
        if (outbound)
        {
            _worker.Counters.Connected++;
        }
        else
        {
            _worker.Counters.Accepted++;
        }

        try
        {
            // Accepted sockets inherit TCP_NODELAY from their listener; only outbound TCP ones need the call.
            if (outbound && _options.NoDelay && !IsLocalSocket)
            {
                SocketCalls.SetInt(fd, SocketCalls.IPPROTO_TCP, SocketCalls.TCP_NODELAY, 1, "TCP_NODELAY");
            }

            _token = _worker.Register(fd, this, EpollInterest);
            _registered = true;
        }
        catch (NativeCallException ex)
        {
            ConnectionLog.SetupFailed(_worker.Logger, ex, _worker.Index);
            CloseNow(abort: true, new ConnectionAbortedException(ex.Message, ex));
            _handlerDone = true;
            TryRelease();
            return;
        }

        _worker.Timers.Schedule(_idleTimer, _worker.NowMs, (long)_options.IdleTimeout.TotalMilliseconds);
        StartOutputRead();
        RunHandler();
    }

    public void OnEpollEvents(uint events)
    {
        if (_splicer is { } splicer)
        {
            splicer.OnEpollEvents(this, events);
            return;
        }

        if ((events & (EpollCalls.EPOLLRDHUP | EpollCalls.EPOLLHUP | EpollCalls.EPOLLERR)) != 0)
        {
            // The peer's FIN (or an error) is queued behind the data: a short read no longer means "drained".
            _peerFinished = true;
        }

        if ((events & (EpollCalls.EPOLLIN | EpollCalls.EPOLLRDHUP | EpollCalls.EPOLLHUP | EpollCalls.EPOLLERR)) != 0)
        {
            Receive();
        }

        if ((events & (EpollCalls.EPOLLOUT | EpollCalls.EPOLLHUP | EpollCalls.EPOLLERR)) != 0)
        {
            OnWritable();
        }
    }

    /// <summary>Graceful shutdown: the handler's pending read completes as cancelled. Worker thread only.</summary>
    public void RequestShutdown()
    {
        if (_closed || _shutdownRequested)
        {
            return;
        }

        _shutdownRequested = true;
        _input.Reader.CancelPendingRead();
    }

    public override void Abort()
    {
        if (!_worker.IsCurrentThread)
        {
            _worker.Post(static state => ((SocketConnection)state!).Abort(), this);
            return;
        }

        if (!_closed)
        {
            _worker.Counters.Aborted++;
            CloseNow(abort: true, new ConnectionAbortedException());
            TryRelease();
        }
    }

    private IPEndPoint? ReadLocalEndPoint()
    {
        if (_fd < 0)
        {
            return null;
        }

        var address = default(RawSocketAddress);
        unsafe
        {
            int length = RawSocketAddress.Size;
            Span<byte> span = address;
            fixed (byte* bytes = span)
            {
                if (SocketCalls.GetSockName(_fd, bytes, &length) != 0)
                {
                    return null;
                }
            }
        }

        return address.ToEndPoint();
    }

    /// <summary>Lazy idle check: activity only stamps a time; the timer looks at it when it fires.</summary>
    private sealed class IdleTimer(SocketConnection connection) : TimerEntry
    {
        public override void OnExpired() => connection.OnIdleTimerExpired();
    }
}
