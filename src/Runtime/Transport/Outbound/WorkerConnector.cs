using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Locality;
using Fastsock.Native;
using Microsoft.Extensions.Logging;

namespace Fastsock.Transport;

/// <summary>
/// A worker's outbound side: its source-port selector (its own slice of the range), its connection pool, and the
/// non-blocking connect driven by its epoll and timer wheel. Used on the worker thread only.
/// </summary>
internal sealed unsafe partial class WorkerConnector
{
    private static readonly ConditionalWeakTable<Worker, WorkerConnector> s_byWorker = [];
    [ThreadStatic]
    private static WorkerConnector? t_current;

    private readonly SocketConnectionPool _pool;
    private readonly SourcePortSelector? _selector;
    private readonly LocalAddressCache _localAddresses = new();

    public WorkerConnector(Worker worker, SocketConnectionPool pool, OutboundOptions options, SourcePortSelector? selector)
    {
        Worker = worker;
        _pool = pool;
        Options = options;
        _selector = selector;
        s_byWorker.AddOrUpdate(worker, this);
    }

    public Worker Worker { get; }

    public OutboundOptions Options { get; }

    /// <summary>The strategy this worker really uses (Rss may have fallen back to Kernel).</summary>
    public SourcePortStrategy Strategy => _selector?.Strategy ?? SourcePortStrategy.Kernel;

    public SourcePortSelector? Selector => _selector;

    /// <summary>The connector of the worker running the calling thread, or null off the worker threads.</summary>
    public static WorkerConnector? Current
    {
        get
        {
            if (SynchronizationContext.Current is not WorkerSynchronizationContext { Worker: { IsCurrentThread: true } worker })
            {
                return null;
            }

            var cached = t_current;
            if (cached is not null && cached.Worker == worker)
            {
                return cached;
            }

            return t_current = s_byWorker.TryGetValue(worker, out var connector) ? connector : null;
        }
    }

    internal SocketConnection RentSocket() => _pool.Rent();

    /// <summary>Starts a connect to <paramref name="remote"/>. Worker thread only.</summary>
    public Task<Connection> ConnectAsync(EndPoint remote, CancellationToken cancellationToken)
    {
        var connection = new OutboundConnection(this, remote);
        if (cancellationToken.IsCancellationRequested)
        {
            connection.Fail(new OperationCanceledException(cancellationToken));
            return connection.Connected;
        }

        try
        {
            if (connection.IsUnix)
            {
                ConnectUnix(connection, cancellationToken);
            }
            else
            {
                Connect(connection, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is NativeCallException or IOException)
        {
            OnConnectFailed(connection, ex);
        }

        return connection.Connected;
    }

    public void OnConnectFailed(OutboundConnection connection, Exception error)
    {
        Worker.Counters.ConnectFailed++;
        ConnectorLog.ConnectFailed(Worker.Logger, Worker.Index, connection.Remote, error.Message);
        connection.Fail(error);
    }

    private void Connect(OutboundConnection connection, CancellationToken cancellationToken)
    {
        var remote = (IPEndPoint)connection.Remote;
        ref readonly var address = ref connection.RemoteAddress;
        int family = address.Family;
        if (_selector is null)
        {
            int fd = OpenSocket(family, remote);
            FinishConnect(connection, fd, TryConnect(fd, address), bound: false, cancellationToken);
            return;
        }

        // Bind a chosen port (SO_REUSEADDR: ports in TIME_WAIT are fine, the 4-tuple is what must be free), then
        // connect; a busy port or tuple moves on to the next candidate.
        var local = default(RawSocketAddress);
        if (_selector.Strategy == SourcePortStrategy.Rss)
        {
            local = _localAddresses.For(address, remote);
        }
        else
        {
            SetFamily(ref local, family);
        }

        ReadOnlySpan<byte> remoteBytes = SourcePortSelector.AddressBytes(address);
        ReadOnlySpan<byte> localBytes = SourcePortSelector.AddressBytes(local);
        var scan = _selector.BeginScan(remoteBytes, localBytes, remote.Port);
        while (_selector.TryNext(ref scan, out int port))
        {
            int fd = OpenSocket(family, remote);
            SocketCalls.SetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEADDR, 1, "SO_REUSEADDR");
            SetPort(ref local, port);
            Span<byte> localSpan = local;
            int bindResult;
            fixed (byte* bytes = localSpan)
            {
                bindResult = SocketCalls.Bind(fd, bytes, local.Length);
            }

            int errno = bindResult == 0 ? 0 : Errno.Last;
            if (errno == 0)
            {
                errno = TryConnect(fd, address);
            }

            if (errno is Errno.EADDRINUSE or Errno.EADDRNOTAVAIL)
            {
                FileCalls.Close(fd);
                continue;
            }

            if (bindResult != 0)
            {
                FileCalls.Close(fd);
                throw new NativeCallException($"bind({local.ToEndPoint()})", errno);
            }

            FinishConnect(connection, fd, errno, bound: true, cancellationToken);
            return;
        }

        Worker.Counters.PortsExhausted++;
        throw new NativeCallException($"connect({remote})", Errno.EADDRNOTAVAIL,
            $"No free local port on worker {Worker.Index} ({_selector.Strategy} strategy, ports {_selector.Slice}, {_selector.CandidateCount} candidates): widen Outbound.PortRange, or close connections");
    }

    private void FinishConnect(OutboundConnection connection, int fd, int errno, bool bound, CancellationToken cancellationToken)
    {
        switch (errno)
        {
            case 0:
                connection.Established(fd);
                return;
            case Errno.EINPROGRESS:
                try
                {
                    connection.WaitForConnect(fd, Options.ConnectTimeout, cancellationToken);
                }
                catch
                {
                    FileCalls.Close(fd);
                    throw;
                }

                return;
            default:
                FileCalls.Close(fd);
                if (errno == Errno.EADDRNOTAVAIL && !bound)
                {
                    Worker.Counters.PortsExhausted++;
                    throw new NativeCallException($"connect({connection.Remote})", errno,
                        "The kernel found no free local port: widen net.ipv4.ip_local_port_range or close connections");
                }

                throw new NativeCallException($"connect({connection.Remote})", errno);
        }
    }

    /// <summary>Returns 0, EINPROGRESS or the errno of <c>connect</c>.</summary>
    private static int TryConnect(int fd, in RawSocketAddress address)
    {
        ReadOnlySpan<byte> span = address;
        fixed (byte* bytes = span)
        {
            while (true)
            {
                if (SocketCalls.Connect(fd, bytes, address.Length) == 0)
                {
                    return 0;
                }

                int errno = Errno.Last;
                if (errno != Errno.EINTR)
                {
                    return errno;
                }
            }
        }
    }

    private static int OpenSocket(int family, IPEndPoint remote)
    {
        int fd = SocketCalls.Socket(family, SocketCalls.SOCK_STREAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw Errno.Exception($"socket(for {remote})");
        }

        return fd;
    }

    private static void SetFamily(ref RawSocketAddress address, int family)
    {
        Span<byte> span = address;
        span[0] = (byte)family;
        span[1] = 0;
    }

    private static void SetPort(ref RawSocketAddress address, int port)
    {
        Span<byte> span = address;
        span[2] = (byte)(port >> 8);
        span[3] = (byte)port;
    }
}

internal static partial class ConnectorLog
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "Worker {Worker}: connect to {Remote} failed: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, int worker, EndPoint remote, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Source-port strategy rss is not available ({Reason}); outbound connections use the kernel's choice")]
    public static partial void RssUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Worker {Worker} on CPU {Cpu}: no RSS queue is served by this CPU ({Topology}); its outbound connections use the kernel's choice")]
    public static partial void RssCpuNotServed(ILogger logger, int worker, int cpu, string topology);

    [LoggerMessage(EventId = 43, Level = LogLevel.Information, Message = "Outbound source ports: {Strategy} over {Range} ({Detail})")]
    public static partial void Strategy(ILogger logger, SourcePortStrategy strategy, PortRange range, string detail);
}
