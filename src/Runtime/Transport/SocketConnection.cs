using System.IO.Pipelines;
using System.Net;
using System.Runtime.InteropServices;
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
    private int _fd = -1;
    private ulong _token;
    private bool _registered;
    private ulong _remoteHead; // the peer address's first 8 bytes: family, port and, for IPv4, the whole address
    private ConnectionHandler? _handler;
    private bool _isOutbound;
    private bool _shutdownRequested;
    private bool _shutdownReadCancelled;
    private SocketConnectionRareState? _rare; // made on first use: most connections never need any of it
    private long _lastActivityMs;

    public SocketConnection(Worker worker, ConnectionOptions options, SharedPipeSettings pipes)
    {
        _worker = worker;
        _options = options;

        _input = ConnectionPipe.Create(pipes.Input, pipes.InputOptions, options.ThreadSafePipes);
        _output = ConnectionPipe.Create(pipes.Output, pipes.OutputOptions, options.ThreadSafePipes);
    }

    /// <summary>What the pipes of a worker's connections share, one object per worker and direction.</summary>
    internal sealed class SharedPipeSettings(Worker worker, ConnectionOptions options)
    {
        // Input: the handler's continuation goes through the worker's run queue. Output: the reader is the transport;
        // its continuation only marks the connection for the end-of-turn writev, so it runs inline in the flush.
        public WorkerPipeSettings Input { get; } = new(worker, options.MaxInputBufferSize, options.MaxInputBufferSize / 2, readerRunsInline: false);

        public WorkerPipeSettings Output { get; } = new(worker, options.MaxOutputBufferSize, options.MaxOutputBufferSize / 2, readerRunsInline: true);

        public PipeOptions InputOptions { get; } = InputPipeOptions(worker, options);

        public PipeOptions OutputOptions { get; } = OutputPipeOptions(worker, options);
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

    PipeWriter IDuplexPipe.Output => _output.Writer.AsPipeWriter();

    public override EndPoint? RemoteEndPoint => Rare.RemoteEndPoint ??= RemoteAddress().ToEndPoint();

    public override EndPoint? LocalEndPoint => Rare.LocalEndPoint ??= ReadLocalEndPoint();

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
            var source = Rare.InputEndedSource ??= new CancellationTokenSource();
            if (_receiveEnded || _closed)
            {
                source.Cancel();
            }

            return source.Token;
        }
    }

    public override CancellationToken ConnectionClosed
    {
        get
        {
            // Created on first use: most handlers never ask, and then a connection costs no token source.
            var source = Rare.ClosedSource ??= new CancellationTokenSource();
            if (_closed)
            {
                source.Cancel();
            }

            return source.Token;
        }
    }

    private SocketConnectionRareState Rare => _rare ??= new SocketConnectionRareState();

    /// <summary>An AF_UNIX connection (its remote address is not an IP one): no TCP options, no locality to measure.</summary>
    private bool IsLocalSocket => RemoteFamily is not (SocketCalls.AF_INET or SocketCalls.AF_INET6);

    // sockaddr's family is in host order (little-endian on the platforms .NET runs Linux on).
    private int RemoteFamily => (ushort)_remoteHead;

    /// <summary>The fd, for tests and diagnostics.</summary>
    internal int Fd => _fd;

    IFlushable? IFlushable.NextFlush { get; set; }

    /// <summary>Takes ownership of an accepted (or connected) fd and starts the handler. Worker thread only.</summary>
    public void Start(int fd, in RawSocketAddress remote, ConnectionHandler handler, bool outbound)
    {
        _fd = fd;
        KeepRemoteAddress(remote);
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

        Pool?.Track(this); // the idle timeout: the pool's sweep looks at _lastActivityMs
        StartOutputRead();
        RunHandler();
    }

    public void PrefetchState()
    {
        _input.Prefetch();
        _output.Prefetch();
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
        if (_closed || _shutdownReadCancelled)
        {
            return;
        }

        _shutdownRequested = true;
        _shutdownReadCancelled = true;
        _input.Reader.CancelPendingRead();
    }

    /// <summary>
    /// The first half of a drain after a listener hand-over: <see cref="IsShutdownRequested"/> turns true (the next
    /// response closes the connection) but a read waiting for the next request is left to complete.
    /// </summary>
    public void AnnounceShutdown()
    {
        if (!_closed)
        {
            _shutdownRequested = true;
        }
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

    /// <summary>
    /// An IPv4 peer fits in 8 bytes kept inline; an IPv6 (or AF_UNIX) one is kept whole in the rare state, so a
    /// connection does not carry 28 bytes for an address that is rarely asked for.
    /// </summary>
    private void KeepRemoteAddress(in RawSocketAddress remote)
    {
        ReadOnlySpan<byte> bytes = remote;
        _remoteHead = MemoryMarshal.Read<ulong>(bytes);
        if (RemoteFamily != SocketCalls.AF_INET)
        {
            Rare.RemoteAddress = remote;
        }
    }

    private RawSocketAddress RemoteAddress()
    {
        if (RemoteFamily != SocketCalls.AF_INET)
        {
            return _rare is null ? default : _rare.RemoteAddress;
        }

        var address = default(RawSocketAddress);
        Span<byte> bytes = address;
        MemoryMarshal.Write(bytes, in _remoteHead);
        return address;
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
}
