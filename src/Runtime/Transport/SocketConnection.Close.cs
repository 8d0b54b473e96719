using Fastsock.Engine;
using Fastsock.Native;
using Microsoft.Extensions.Logging;

namespace Fastsock.Transport;

internal sealed partial class SocketConnection
{
    private static readonly Action<object?> s_cancelClosed = static state => ((CancellationTokenSource)state!).Cancel();

    private static readonly Action<object?> s_checkHandlerEnded = static state => ((SocketConnection)state!).CheckHandlerEnded();

    private Action? _onHandlerCompleted; // created when a handler's task is first watched; kept with the pooled object
    private Task? _handlerTask;
    private bool _startingHandler;
    private bool _handlerSignalsEnd;
    private bool _handlerDone;
    private bool _closed;
    private bool _idleClosing;

    internal SocketConnectionPool? Pool { get; set; }

    /// <summary>Links in the pool's list of live connections, which its idle sweep walks (no timer object per connection).</summary>
    internal SocketConnection? LiveNext { get; set; }

    internal SocketConnection? LivePrevious { get; set; }

    private void RunHandler()
    {
        Task task;
        _startingHandler = true;
        try
        {
            task = _handler!(this);
        }
        catch (Exception ex)
        {
            _startingHandler = false;
            OnHandlerFinished(ex);
            return;
        }

        _startingHandler = false;

        if (task.IsCompleted)
        {
            OnHandlerFinished(task.Exception?.InnerException);
            return;
        }

        _handlerTask = task;
        if (_handlerSignalsEnd)
        {
            return; // HandlerEnding looks at the task: an idle connection holds no continuation on it
        }

        WatchHandler(task);
    }

    private void WatchHandler(Task task)
    {
        // Capture the worker's SynchronizationContext: the TPL then runs the continuation inline when the task
        // completes on this worker. With ConfigureAwait(false) it would refuse to inline under a custom context
        // and hop through the thread pool instead, once per connection.
        task.GetAwaiter().UnsafeOnCompleted(_onHandlerCompleted ??= OnHandlerCompleted);
    }

    internal override void ExpectHandlerEndSignal()
    {
        if (_startingHandler)
        {
            _handlerSignalsEnd = true;
        }
    }

    internal override void HandlerEnding()
    {
        if (!_handlerSignalsEnd)
        {
            return;
        }

        _handlerSignalsEnd = false;
        if (_startingHandler)
        {
            return; // it ended before it first suspended: RunHandler finds its task completed, or watches it
        }

        // The handler's task completes right after this call returns (its method is returning): look at it on the
        // next run-queue turn. A task that is still running then (a user's handler wrapped around the loop) is
        // watched as any other. Nothing releases the connection meanwhile: only that look ends the handler.
        _worker.Post(s_checkHandlerEnded, this);
    }

    private void CheckHandlerEnded()
    {
        if (_handlerTask is not { } task)
        {
            return;
        }

        if (!task.IsCompleted)
        {
            WatchHandler(task);
            return;
        }

        _handlerTask = null;
        OnHandlerFinished(task.Exception?.InnerException);
    }

    private void OnHandlerCompleted()
    {
        if (!_worker.IsCurrentThread)
        {
            _worker.Post(static state => ((SocketConnection)state!).OnHandlerCompleted(), this);
            return;
        }

        var task = _handlerTask!;
        _handlerTask = null;
        OnHandlerFinished(task.Exception?.InnerException);
    }

    private void OnHandlerFinished(Exception? error)
    {
        // _handlerDone is set only once the handler's pipe ends are completed below: CloseNow cancels the pending
        // output read, whose inline continuation calls TryRelease, and resetting the pipes before those ends are
        // completed throws on the worker thread (a throwing handler used to crash the process that way).
        if (error is not null)
        {
            if (_closed || error is ConnectionResetException or ConnectionAbortedException)
            {
                ConnectionLog.HandlerEndedByClose(_worker.Logger, error, _worker.Index);
            }
            else
            {
                // One handler's bug closes its own connection, nothing else.
                _worker.Counters.HandlerErrors++;
                ConnectionLog.HandlerFailed(_worker.Logger, error, _worker.Index, RemoteEndPoint);
                CloseNow(abort: true, new ConnectionAbortedException("The connection's handler failed.", error));
            }
        }

        // Complete the handler's ends of the pipes (no-ops when it did): the rest of the output is sent, then FIN.
        _input.Reader.Complete();
        _output.Writer.Complete();
        _handlerDone = true;
        CloseIfDone();
        TryRelease();
    }

    private void CloseIfDone()
    {
        if (!_closed && _sendEnded && (_receiveEnded || _handlerDone))
        {
            CloseNow(abort: false, null);
            TryRelease();
        }
    }

    private void Fail(Exception error)
    {
        if (!_closed)
        {
            CloseNow(abort: true, error);
        }

        TryRelease();
    }

    /// <summary>Closes the fd now; with <paramref name="abort"/> the peer gets a RST instead of a FIN.</summary>
    private unsafe void CloseNow(bool abort, Exception? error)
    {
        _closed = true;
        Pool?.Untrack(this);
        ClearReadDeadline();
        if (_fd >= 0)
        {
            if (abort)
            {
                var linger = (Enabled: 1, Seconds: 0);
                SocketCalls.SetOption(_fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_LINGER, &linger, sizeof(int) * 2);
            }

            if (_registered)
            {
                _worker.Unregister(_token);
                _registered = false;
            }

            FileCalls.Close(_fd);
            _fd = -1;
            _worker.Counters.Closed++;
        }

        if (!_receiveEnded)
        {
            _receiveEnded = true;
            if (_inputFlushPending)
            {
                _input.Writer.CancelPendingFlush();
            }

            _input.Writer.Complete(error);
        }

        if (!_sendEnded)
        {
            _sendEnded = true;
            _hasOutput = false;
            _waitingWritable = false;
            if (_outputReadPending)
            {
                // Its continuation sees the connection closed and completes the reader.
                _output.Reader.CancelPendingRead();
            }
            else
            {
                _output.Reader.Complete();
            }
        }

        if (_rare?.ClosedSource is { } source)
        {
            _worker.Post(s_cancelClosed, source);
        }

        if (_rare?.InputEndedSource is { } inputEnded)
        {
            _worker.Post(s_cancelClosed, inputEnded);
        }

        NotifySplicerClosed();
    }

    /// <summary>Back to the worker's pool once the fd is closed, the handler returned and no pipe callback is due.</summary>
    private void TryRelease()
    {
        // Still linked in the worker's flush list: Flush releases it when its turn comes.
        if (!_closed || !_handlerDone || _outputReadPending || _inputFlushPending || _flushQueued || Pool is null)
        {
            return;
        }

        ClearReadDeadline();
        _input.Reset();
        _output.Reset();
        _handler = null;
        _handlerSignalsEnd = false;
        _rare?.Reset();
        _remoteHead = 0;
        _shutdownRequested = false;
        _shutdownReadCancelled = false;
        _receiveEnded = false;
        _peerFinished = false;
        _sendEnded = false;
        _handlerDone = false;
        _closed = false;
        _idleClosing = false;
        IdleTimeoutSuspended = false;
        _localityMeasured = false;
        _incomingCpu = -1;
        _receivedTotal = 0;
        _hasOutput = false;
        _outputResult = default;
        _waitingWritable = false;
        var pool = Pool;
        Pool = null;
        pool.Return(this);
    }

    /// <summary>Set while a forward with its own inactivity bound owns the connection (ForwardIdleWatch): that bound replaces this one.</summary>
    internal bool IdleTimeoutSuspended { get; set; }

    /// <summary>When bytes last came in, went out or were spliced through this connection (the worker's clock).</summary>
    internal long LastActivityMs => _lastActivityMs;

    /// <summary>Called by the pool's idle sweep: activity only stamps a time, this looks at it.</summary>
    internal void CheckIdle(long nowMs)
    {
        if (_closed || _options.IdleTimeout == Timeout.InfiniteTimeSpan || IdleTimeoutSuspended)
        {
            return;
        }

        // Rounded up, as every deadline given as a TimeSpan: truncated, 200.5 ms would close after 200.
        long timeoutMs = TimerWheel.Milliseconds(_options.IdleTimeout);
        if (nowMs - _lastActivityMs < timeoutMs)
        {
            return;
        }

        if (_idleClosing)
        {
            _worker.Counters.Aborted++;
            CloseNow(abort: true, new ConnectionAbortedException("The connection was idle too long."));
            TryRelease();
            return;
        }

        // First expiry: end the input as if the peer had closed, and give the handler one more period to finish.
        _idleClosing = true;
        _lastActivityMs = nowMs;
        ConnectionLog.IdleTimeout(_worker.Logger, _worker.Index, timeoutMs);
        EndReceive(null);
    }
}

internal static partial class ConnectionLog
{
    [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "Connection handler failed on worker {Worker} (peer {Peer}); closing that connection")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, int worker, System.Net.EndPoint? peer);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Connection handler on worker {Worker} ended because the connection closed")]
    public static partial void HandlerEndedByClose(ILogger logger, Exception exception, int worker);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Could not set up an accepted connection on worker {Worker}")]
    public static partial void SetupFailed(ILogger logger, Exception exception, int worker);

    [LoggerMessage(EventId = 23, Level = LogLevel.Debug, Message = "Connection on worker {Worker} idle for {Milliseconds} ms; closing its input")]
    public static partial void IdleTimeout(ILogger logger, int worker, long milliseconds);
}
