using System.Runtime.InteropServices;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>Why the proxy closed a connection to a server.</summary>
internal enum BackendCloseReason
{
    /// <summary>After an exchange that could not leave it reusable (close-delimited, error, client abort, session end).</summary>
    AfterUse,

    /// <summary>Idle in the pool longer than <c>keepAlive.idleTimeout</c>.</summary>
    IdleTimeout,

    /// <summary>Found closed (or written to) by the server while idle.</summary>
    ServerClosed,

    /// <summary>Not kept: the worker already held <c>keepAlive.maxIdlePerWorker</c> idle connections to that server.</summary>
    PoolFull,

    /// <summary>Closed idle by a graceful shutdown.</summary>
    Shutdown,

    /// <summary>Closed idle because its server went DOWN (the connection would likely be dead at reuse).</summary>
    ServerDown,
}

/// <summary>
/// One row of backend connection counters, 64 bytes: a cache line, written by one worker with plain increments like
/// <see cref="SessionCounters"/>. <see cref="Idle"/> is a gauge: the connections that worker holds idle now.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct BackendConnectionCounters
{
    public long Opened;
    public long Reused;
    public long Closed;
    public long ClosedIdleTimeout;
    public long ClosedByServer;
    public long ClosedPoolFull;
    public long Idle;

    /// <summary>
    /// Kept after the client left mid-exchange: the response was read to its end and discarded. The client aborts on
    /// the same row (<see cref="HttpCounter.ClientAborts"/>) minus these were closed instead (over the byte bound, late,
    /// or not keep-alive).
    /// </summary>
    public long Drained;

    public void Count(BackendCloseReason reason)
    {
        Closed++;
        switch (reason)
        {
            case BackendCloseReason.IdleTimeout:
                ClosedIdleTimeout++;
                break;
            case BackendCloseReason.ServerClosed:
                ClosedByServer++;
                break;
            case BackendCloseReason.PoolFull:
                ClosedPoolFull++;
                break;
        }
    }
}

/// <summary>A read copy of <see cref="BackendConnectionCounters"/> rows, summed (HAProxy's connect / reuse counts).</summary>
internal readonly record struct BackendConnectionTotals(
    long Opened, long Reused, long Closed, long ClosedIdleTimeout, long ClosedByServer, long ClosedPoolFull, long Idle, long Drained = 0)
{
    /// <summary>Closed for a reason without its own counter: after use, or by a shutdown.</summary>
    public long ClosedOther => Closed - ClosedIdleTimeout - ClosedByServer - ClosedPoolFull;

    /// <summary>Open now: in use or idle.</summary>
    public long Open => Opened - Closed;

    public static BackendConnectionTotals Read(ref BackendConnectionCounters c) => new(
        Volatile.Read(ref c.Opened), Volatile.Read(ref c.Reused), Volatile.Read(ref c.Closed), Volatile.Read(ref c.ClosedIdleTimeout),
        Volatile.Read(ref c.ClosedByServer), Volatile.Read(ref c.ClosedPoolFull), Volatile.Read(ref c.Idle), Volatile.Read(ref c.Drained));

    public static BackendConnectionTotals operator +(BackendConnectionTotals a, BackendConnectionTotals b) => Add(a, b);

    public static BackendConnectionTotals Add(BackendConnectionTotals a, BackendConnectionTotals b) => new(
        a.Opened + b.Opened, a.Reused + b.Reused, a.Closed + b.Closed, a.ClosedIdleTimeout + b.ClosedIdleTimeout,
        a.ClosedByServer + b.ClosedByServer, a.ClosedPoolFull + b.ClosedPoolFull, a.Idle + b.Idle, a.Drained + b.Drained);
}
