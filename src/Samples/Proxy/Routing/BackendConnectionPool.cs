using System.IO.Pipelines;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// Idle keep-alive connections to one server, owned by one worker, so it takes no lock and a connection never leaves
/// the core it was opened on. A stack (newest on top, so the busy few stay warm) over a ring, so the oldest leave
/// from the bottom in O(1) when they expire. It keeps what demand returns to it, as HAProxy does unless
/// <c>pool-max-conn</c> says otherwise: at most one connection per client connection the worker served at once,
/// bounded by <c>maxIdle</c> when that is not <see cref="Unlimited"/>. Connections idle for the
/// keep-alive idle timeout or longer, or that the server has closed or written to while idle, are closed instead of reused.
/// </summary>
/// <remarks>
/// The ring grows by doubling when demand exceeds it and never shrinks: once the worker's peak concurrency has been
/// seen, taking and returning allocate nothing. Reuse, closes (with their reason) and the idle count go to
/// the frontend's counters as this worker's figures for this server.
/// </remarks>
internal sealed class BackendConnectionPool
{
    /// <summary><c>keepAlive.maxIdlePerWorker</c> for "no limit but demand and the idle timeout" (HAProxy's pool-max-conn -1).</summary>
    public const int Unlimited = -1;

    private const int InitialCapacity = 16;

    private readonly int _maxIdle;
    private readonly long _idleTimeoutMs;
    private readonly FrontendCounters? _counters;
    private readonly int _worker;
    private readonly int _server;
    private Connection?[] _connections;
    private long[] _idleSince;
    private int _bottom;
    private int _count;

    public BackendConnectionPool(int maxIdle, TimeSpan idleTimeout, FrontendCounters? counters = null, int worker = 0, int server = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIdle, Unlimited);
        _maxIdle = maxIdle;
        // Rounded up and compared with >=, as the runtime's idle timeout: a connection is expired once idle for the
        // whole timeout, never a fraction of a millisecond before.
        _idleTimeoutMs = Duration.CeilingMilliseconds(idleTimeout);
        _counters = counters;
        _worker = worker;
        _server = server;
        int capacity = maxIdle == Unlimited ? InitialCapacity : Math.Min(InitialCapacity, RoundUp(maxIdle));
        _connections = new Connection?[capacity];
        _idleSince = new long[capacity];
    }

    private enum IdleState
    {
        Idle,
        ServerClosed,
        ShutdownRequested,
    }

    /// <summary>Idle connections held now.</summary>
    public int Count => _count;

    /// <summary>Slots allocated (grows by doubling with demand).</summary>
    internal int Capacity => _connections.Length;

    /// <summary>The most recently used idle connection that is still good, or null: then connect.</summary>
    public Connection? Take(long nowMs)
    {
        try
        {
            while (_count > 0)
            {
                int top = Slot(_count - 1);
                var connection = _connections[top]!;
                _connections[top] = null;
                _count--;
                if (nowMs - _idleSince[top] >= _idleTimeoutMs)
                {
                    // The top is the newest: everything below has waited longer still.
                    Close(connection, BackendCloseReason.IdleTimeout);
                    CloseAll(BackendCloseReason.IdleTimeout);
                    return null;
                }

                var state = Probe(connection);
                if (state == IdleState.Idle)
                {
                    _counters?.BackendReused(_worker, _server);
                    return connection;
                }

                Close(connection, ReasonFor(state));
            }

            return null;
        }
        finally
        {
            _counters?.BackendIdle(_worker, _server, _count);
        }
    }

    /// <summary>Keeps <paramref name="connection"/> for the next request, or closes it when the pool is at its limit.</summary>
    public void Return(Connection connection, long nowMs)
    {
        EvictExpired(nowMs);
        if (_count == _maxIdle)
        {
            Close(connection, BackendCloseReason.PoolFull);
            return;
        }

        if (_count == _connections.Length)
        {
            Grow();
        }

        int slot = Slot(_count);
        _connections[slot] = connection;
        _idleSince[slot] = nowMs;
        _count++;
        _counters?.BackendIdle(_worker, _server, _count);
    }

    /// <summary>
    /// Closes what should not wait for the next <see cref="Take"/>: connections idle too long, closed by the server, or
    /// asked to finish by a graceful shutdown (their input then reads as cancelled).
    /// </summary>
    public void Sweep(long nowMs)
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            int from = Slot(i);
            var connection = _connections[from]!;
            _connections[from] = null;
            var state = nowMs - _idleSince[from] >= _idleTimeoutMs ? (IdleState?)null : Probe(connection);
            if (state != IdleState.Idle)
            {
                Close(connection, state is { } closed ? ReasonFor(closed) : BackendCloseReason.IdleTimeout);
                continue;
            }

            int to = Slot(kept);
            _connections[to] = connection;
            _idleSince[to] = _idleSince[from];
            kept++;
        }

        _count = kept;
        _counters?.BackendIdle(_worker, _server, _count);
    }

    /// <summary>Closes every idle connection (a graceful shutdown, or an expired stack).</summary>
    public void CloseAll(BackendCloseReason reason = BackendCloseReason.Shutdown)
    {
        while (_count > 0)
        {
            int top = Slot(--_count);
            Close(_connections[top]!, reason);
            _connections[top] = null;
        }

        _counters?.BackendIdle(_worker, _server, 0);
    }

    /// <summary>Completes both ends: the transport then closes the socket (or the in-memory pair ends).</summary>
    public static void Close(Connection connection)
    {
        connection.Transport.Input.Complete();
        connection.Transport.Output.Complete();
    }

    /// <summary>An idle connection must have nothing to read: EOF means the server closed it, bytes are a protocol error.</summary>
    internal static bool IsStillIdle(Connection connection) => Probe(connection) == IdleState.Idle;

    private static IdleState Probe(Connection connection)
    {
        var state = IdleState.Idle;
        PipeReader input = connection.Transport.Input;
        if (input.TryRead(out ReadResult result))
        {
            state = result.IsCanceled ? IdleState.ShutdownRequested
                : !result.IsCompleted && result.Buffer.IsEmpty ? IdleState.Idle
                : IdleState.ServerClosed;
            input.AdvanceTo(result.Buffer.Start);
        }

        // Over TLS the plaintext shows nothing of a server that closed: records are decrypted only when read. The socket
        // under it has read the close_notify and the FIN, though (InputEnded: once per connection, a token source).
        if (state == IdleState.Idle && connection is ITlsConnectionFeature && connection.InputEnded.IsCancellationRequested)
        {
            state = IdleState.ServerClosed;
        }

        return state;
    }

    private static BackendCloseReason ReasonFor(IdleState state) =>
        state == IdleState.ShutdownRequested ? BackendCloseReason.Shutdown : BackendCloseReason.ServerClosed;

    /// <summary>The smallest power of two at least <paramref name="value"/> (at least 1).</summary>
    private static int RoundUp(int value) => value <= 1 ? 1 : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)value);

    /// <summary>The ring slot of the <paramref name="index"/>-th connection from the bottom (capacity is a power of two).</summary>
    private int Slot(int index) => (_bottom + index) & (_connections.Length - 1);

    private void Close(Connection connection, BackendCloseReason reason)
    {
        Close(connection);
        _counters?.BackendClosed(_worker, _server, reason);
    }

    /// <summary>Closes the connections at the bottom (the oldest) that have been idle too long.</summary>
    private void EvictExpired(long nowMs)
    {
        while (_count > 0 && nowMs - _idleSince[_bottom] >= _idleTimeoutMs)
        {
            Close(_connections[_bottom]!, BackendCloseReason.IdleTimeout);
            _connections[_bottom] = null;
            _bottom = (_bottom + 1) & (_connections.Length - 1);
            _count--;
        }
    }

    /// <summary>Doubles the ring, the bottom moving to slot 0; happens only while demand climbs to a new peak.</summary>
    private void Grow()
    {
        int capacity = _connections.Length * 2;
        var connections = new Connection?[capacity];
        var idleSince = new long[capacity];
        for (int i = 0; i < _count; i++)
        {
            connections[i] = _connections[Slot(i)];
            idleSince[i] = _idleSince[Slot(i)];
        }

        _connections = connections;
        _idleSince = idleSince;
        _bottom = 0;
    }
}
