using Fastsock.Engine;
using Fastsock.Transport.Tls;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// The inactivity bound of one forward (<see cref="ForwardingOptions.IdleTimeout"/>): one timer on the worker's wheel
/// looks at when either socket last moved a byte (the stamp the transport keeps anyway, copied or spliced), so the
/// bytes themselves pay nothing. The connections' own idle timeouts are suspended meanwhile: a tunnel idle for less
/// than its bound must not be cut by the shorter timeout of an HTTP connection.
/// </summary>
internal sealed class ForwardIdleWatch : TimerEntry
{
    private readonly Worker _worker;
    private readonly Connection _first;
    private readonly Connection _second;
    private readonly SocketConnection _firstSocket;
    private readonly SocketConnection _secondSocket;
    private readonly long _timeoutMs;
    private bool _stopped;
    private bool _timedOut;

    private ForwardIdleWatch(Worker worker, Connection first, Connection second, SocketConnection firstSocket, SocketConnection secondSocket, long timeoutMs)
    {
        _worker = worker;
        _first = first;
        _second = second;
        _firstSocket = firstSocket;
        _secondSocket = secondSocket;
        _timeoutMs = timeoutMs;
    }

    /// <summary>Starts watching; null when there is no bound, no worker, or a connection whose activity cannot be seen.</summary>
    public static ForwardIdleWatch? Start(Worker? worker, Connection first, Connection second, TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan || worker is null || SocketOf(first) is not { } a || SocketOf(second) is not { } b)
        {
            return null;
        }

        var watch = new ForwardIdleWatch(worker, first, second, a, b, TimerWheel.Milliseconds(timeout));
        a.IdleTimeoutSuspended = true;
        b.IdleTimeoutSuspended = true;
        worker.Timers.Schedule(watch, worker.NowMs, watch._timeoutMs);
        return watch;
    }

    /// <summary>The forward's result once it ends, its error a <see cref="TimeoutException"/> when this bound ended it.</summary>
    public async Task<ForwardResult> WatchAsync(Task<ForwardResult> forward)
    {
        ForwardResult result;
        try
        {
            result = await forward.ConfigureAwait(true);
        }
        finally
        {
            Stop();
        }

        return _timedOut ? result with { Error = new TimeoutException($"No byte moved either way for {_timeoutMs} ms.") } : result;
    }

    public override void OnExpired()
    {
        if (_stopped)
        {
            return;
        }

        long quiet = _worker.NowMs - Math.Max(_firstSocket.LastActivityMs, _secondSocket.LastActivityMs);
        if (quiet < _timeoutMs)
        {
            _worker.Timers.Schedule(this, _worker.NowMs, _timeoutMs - quiet);
            return;
        }

        _timedOut = true;
        _first.Abort();
        _second.Abort();
    }

    private void Stop()
    {
        _stopped = true;
        if (_worker.IsCurrentThread)
        {
            _worker.Timers.Cancel(this);
        }

        _firstSocket.IdleTimeoutSuspended = false;
        _secondSocket.IdleTimeoutSuspended = false;
    }

    private static SocketConnection? SocketOf(Connection connection) => connection switch
    {
        TlsConnectionBase tls => SocketOf(tls.Inner),
        _ => SpliceForwarder.AsSocket(connection),
    };
}
