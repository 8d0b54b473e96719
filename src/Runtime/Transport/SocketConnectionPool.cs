using Fastsock.Engine;
using Microsoft.Extensions.ObjectPool;

namespace Fastsock.Transport;

/// <summary>
/// A worker's reusable connection objects (with their pipes), so accepting a connection allocates nothing once the
/// pool is warm; and the idle timeout of the connections it lent (<see cref="IdleSweep"/>). Used by the owning worker only.
/// </summary>
internal sealed class SocketConnectionPool
{
    private readonly ObjectPool<SocketConnection> _pool;
    private readonly IdleSweep? _sweep; // null when the idle timeout is infinite
    private SocketConnection? _live; // started connections, linked through SocketConnection.LiveNext/LivePrevious
    private long _created;

    public SocketConnectionPool(Worker worker, ConnectionOptions options, int maximumRetained = 4096)
    {
        Worker = worker;
        _pool = new DefaultObjectPool<SocketConnection>(new Policy(this, options), maximumRetained);
        _sweep = options.IdleTimeout == Timeout.InfiniteTimeSpan ? null : new IdleSweep(this, TimerWheel.Milliseconds(options.IdleTimeout));
    }

    public Worker Worker { get; }

    /// <summary>Connection objects ever created (not reused), to show reuse works; read with Volatile from other threads.</summary>
    public long Created => Volatile.Read(ref _created);

    public SocketConnection Rent()
    {
        var connection = _pool.Get();
        connection.Pool = this;
        return connection;
    }

    public void Return(SocketConnection connection) => _pool.Return(connection);

    /// <summary>A started connection joins the idle sweep. Worker thread only.</summary>
    public void Track(SocketConnection connection)
    {
        connection.LivePrevious = null;
        connection.LiveNext = _live;
        if (_live is not null)
        {
            _live.LivePrevious = connection;
        }

        _live = connection;
        if (_sweep is { IsScheduled: false })
        {
            Worker.Timers.Schedule(_sweep, Worker.NowMs, _sweep.PeriodMs);
        }
    }

    /// <summary>A closed connection leaves the idle sweep (nothing happens if it never joined). Worker thread only.</summary>
    public void Untrack(SocketConnection connection)
    {
        if (connection.LivePrevious is { } previous)
        {
            previous.LiveNext = connection.LiveNext;
        }
        else if (_live == connection)
        {
            _live = connection.LiveNext;
        }
        else
        {
            return; // not tracked
        }

        if (connection.LiveNext is { } next)
        {
            next.LivePrevious = connection.LivePrevious;
        }

        connection.LiveNext = null;
        connection.LivePrevious = null;
    }

    private sealed class Policy(SocketConnectionPool owner, ConnectionOptions options) : PooledObjectPolicy<SocketConnection>
    {
        private readonly SocketConnection.SharedPipeSettings _pipes = new(owner.Worker, options);

        public override SocketConnection Create()
        {
            owner._created++; // owner worker only
            return new(owner.Worker, options, _pipes);
        }

        public override bool Return(SocketConnection obj) => true;
    }

    /// <summary>
    /// One timer per worker for the idle timeout of all its connections, instead of a timer object in each: every
    /// period it looks at each live connection's last activity (a time stamp that activity writes, nothing more). The
    /// period is an eighth of the timeout, between one wheel tick and one second, so a connection is closed at most
    /// that much after its timeout; a sweep costs a few nanoseconds per open connection. The timeout comes rounded up
    /// to the millisecond (<see cref="TimerWheel.Milliseconds"/>), as <see cref="SocketConnection.CheckIdle"/> rounds it.
    /// </summary>
    private sealed class IdleSweep(SocketConnectionPool owner, long timeoutMs) : TimerEntry
    {
        public long PeriodMs { get; } = Math.Clamp(timeoutMs / 8, TimerWheel.TickMilliseconds, 1000);

        public override void OnExpired()
        {
            long now = owner.Worker.NowMs;
            for (var connection = owner._live; connection is not null;)
            {
                var next = connection.LiveNext; // CheckIdle may close the connection, which unlinks it
                connection.CheckIdle(now);
                connection = next;
            }

            if (owner._live is not null)
            {
                owner.Worker.Timers.Schedule(this, now, PeriodMs);
            }
        }
    }
}
