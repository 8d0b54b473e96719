using System.IO.Pipelines;
using Fastsock.Engine;
using Fastsock.Native;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// Moves exactly N bytes one way between two sockets of one worker with <c>splice(2)</c> (what the source's input pipe
/// already holds first), then gives both sockets back to their pipes: the connections go on, e.g. with the next HTTP
/// message of a keep-alive exchange. Both fds are lent for the duration (their events come here, nothing is read into
/// their input pipes); bytes after the N stay in the source socket (or its input pipe) for its reader. A failed target
/// aborts both connections, unless the caller allows the source to be kept (<see cref="ForwardResult.SourceKept"/>); a
/// source that fails, ends before the N bytes (<see cref="ForwardResult.SourceEnded"/>) or stays silent for the caller's
/// inactivity timeout (<see cref="ForwardResult.SourceTimedOut"/>) is aborted alone, and the target, which got every
/// byte taken, goes back to its owner to be closed in order. Worker thread only, no locks.
/// </summary>
/// <remarks>
/// <para>
/// The inactivity timeout is this object on the worker's timer wheel (no other allocation): armed once when the splice
/// starts and cancelled when it ends, never touched per splice call. Each pass only notes the turn's clock when the
/// direction moved; when the timer fires it fails the splice if the direction has waited on its source alone for the
/// whole timeout, and otherwise schedules itself for the time still to wait. A target that does not take the bytes is
/// not the source's fault: the timeout starts again once it does.
/// </para>
/// <para>
/// One object per splice in flight, reused (BoundedSplice.Reuse.cs): a spliced HTTP body allocates nothing.
/// </para>
/// </remarks>
internal sealed partial class BoundedSplice : TimerEntry, ISpliceOwner, IFlushable
{
    private const int MaxDeferrals = 4;
    private static readonly Action<object?> s_resume = static state => ((BoundedSplice)state!).OnResume();

    private readonly SpliceEnd _sourceEnd = new();
    private readonly SpliceEnd _targetEnd = new();
    private readonly SpliceDirection _direction = new();
    private Worker _worker = null!;
    private Connection _from = null!;
    private Connection _to = null!;
    private ForwardingOptions _options = null!;
    private long _count;
    private long _keepSourceWithin;
    private long _sourceTimeoutMs;
    private int _deferrals;
    private bool _flushQueued;
    private bool _resumePosted;
    private bool _running;
    private bool _again;
    private bool _finished;
    private long _progress;
    private long _progressAtMs;

    IFlushable? IFlushable.NextFlush { get; set; }

    /// <summary>See <see cref="ConnectionForwarder.SpliceExactlyAsync(Connection, Connection, long, long, TimeSpan, ForwardingOptions?)"/>.</summary>
    public static ValueTask<ForwardResult> Start(
        Worker? worker, Connection from, Connection to, long count, long keepSourceWithin, TimeSpan sourceTimeout, ForwardingOptions options)
    {
        var readiness = SpliceForwarder.Check(worker, from, to);
        if (readiness == SpliceReadiness.No)
        {
            return new ValueTask<ForwardResult>(NotStarted);
        }

        var splice = Rent();
        splice.Prepare(worker!, from, to, count, keepSourceWithin, sourceTimeout, options);
        if (readiness == SpliceReadiness.OutputPending)
        {
            // Output flushed just before (a response head) goes out at the end of this turn: splice right after it.
            splice.QueueFlush();
        }
        else if (!splice.TryBegin(out var notBegun))
        {
            // Nothing was lent or posted: the object is free again at once.
            splice.ReturnToCache();
            return new ValueTask<ForwardResult>(notBegun);
        }

        return splice.Pending;
    }

    /// <summary>Nothing was moved and both connections are as they were: the caller copies instead.</summary>
    internal static ForwardResult NotStarted => new(0, 0, ForwardingMode.Copy, null);

    void IFlushable.Flush()
    {
        _flushQueued = false;
        if (SpliceForwarder.Check(_worker, _from, _to) == SpliceReadiness.OutputPending && ++_deferrals < MaxDeferrals)
        {
            QueueFlush();
            return;
        }

        if (!TryBegin(out var notBegun))
        {
            Complete(notBegun);
        }
    }

    public void OnEpollEvents(SocketConnection socket, uint events)
    {
        var direction = _direction;
        if (ReferenceEquals(socket, direction.Source.Socket) && (events & (EpollCalls.EPOLLIN | EpollCalls.EPOLLRDHUP | EpollCalls.EPOLLHUP | EpollCalls.EPOLLERR)) != 0)
        {
            direction.Source.Readable = true;
        }

        if (ReferenceEquals(socket, direction.Target.Socket) && (events & (EpollCalls.EPOLLOUT | EpollCalls.EPOLLHUP | EpollCalls.EPOLLERR)) != 0)
        {
            direction.Target.Writable = true;
        }

        Run();
    }

    public void OnSocketClosed(SocketConnection socket)
    {
        bool target = !ReferenceEquals(socket, _direction.Source.Socket);
        Finish(new ConnectionAbortedException($"The {(target ? "target" : "source")} connection of a bounded splice was closed."), target);
    }

    private void Prepare(Worker worker, Connection from, Connection to, long count, long keepSourceWithin, TimeSpan sourceTimeout, ForwardingOptions options)
    {
        _worker = worker;
        _from = from;
        _to = to;
        _count = count;
        _keepSourceWithin = keepSourceWithin;
        _options = options;
        _sourceTimeoutMs = sourceTimeout > TimeSpan.Zero ? TimerWheel.Milliseconds(sourceTimeout) : 0;
        _deferrals = 0;
        _resumePosted = false;
        _running = false;
        _again = false;
        _finished = false;
        _progress = 0;
        _progressAtMs = 0;
    }

    private void QueueFlush()
    {
        _flushQueued = true;
        _worker.QueueFlush(this);
    }

    /// <summary>Lends both sockets and starts moving bytes; false with the result when nothing was lent.</summary>
    private bool TryBegin(out ForwardResult notBegun)
    {
        if (SpliceForwarder.Check(_worker, _from, _to) != SpliceReadiness.Ready || !_worker.Pipes.TryRent(_options.PipeSize, out var pipe, out _))
        {
            notBegun = NotStarted;
            return false;
        }

        var source = SpliceForwarder.AsSocket(_from)!;
        var target = SpliceForwarder.AsSocket(_to)!;
        _sourceEnd.Reset(source);
        _targetEnd.Reset(target);
        _direction.Reset(_sourceEnd, _targetEnd, pipe, _worker);
        _direction.Limit = _count;
        var input = _from.Transport.Input;
        bool buffered;
        ReadResult read;
        try
        {
            buffered = input.TryRead(out read);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _worker.Pipes.Return(pipe, empty: true);
            notBegun = new ForwardResult(0, 0, ForwardingMode.Splice, ex);
            return false;
        }

        if (buffered)
        {
            _direction.TakePrefix(input, read);
        }

        source.BeginSplice(this);
        target.BeginSplice(this);
        if (_sourceTimeoutMs > 0)
        {
            _progressAtMs = _worker.NowMs;
            _worker.Timers.Schedule(this, _worker.NowMs, _sourceTimeoutMs);
        }

        notBegun = default;
        Run();
        return true;
    }

    /// <summary>The inactivity timer: fails the splice, or waits for what is left of the timeout since the last move.</summary>
    public override void OnExpired()
    {
        if (_finished)
        {
            return;
        }

        long quiet = _worker.NowMs - _progressAtMs;
        if (quiet >= _sourceTimeoutMs && _direction.AwaitsSource)
        {
            Finish(new TimeoutException($"The source of a bounded splice sent nothing for {_sourceTimeoutMs} ms."), sourceTimedOut: true);
            return;
        }

        // Moved meanwhile, or waiting on the target (whose own idle timeout bounds it): a full timeout from the last move.
        _worker.Timers.Schedule(this, _worker.NowMs, quiet < _sourceTimeoutMs ? _sourceTimeoutMs - quiet : _sourceTimeoutMs);
    }

    private void OnResume()
    {
        _resumePosted = false;
        Run();
    }

    private void Run()
    {
        if (_running)
        {
            _again = true;
            return;
        }

        _running = true;
        try
        {
            do
            {
                _again = false;
                if (_finished)
                {
                    return;
                }

                var direction = _direction;
                var status = direction.Pump(_options.TurnBudget, nothingSplicedYet: false, out int errno);
                if (direction.Progress != _progress)
                {
                    // No timer operation per pass: the timer reads this when it fires. The clock is read now, not at the
                    // start of the turn: bytes that came in during a long (or preempted) turn would otherwise count as
                    // older than they are, and the timeout would fire that much early.
                    _progress = direction.Progress;
                    _progressAtMs = Environment.TickCount64;
                }

                switch (status)
                {
                    case PumpStatus.Done:
                        Finish(null);
                        return;
                    case PumpStatus.Failed or PumpStatus.Unsupported:
                        Finish(new ConnectionResetException($"{direction.FailedCall}: {Errno.Name(errno)} ({Errno.Describe(errno)})"), direction.TargetFailed);
                        return;
                    case PumpStatus.BudgetSpent when !_resumePosted:
                        _resumePosted = true;
                        _worker.Post(s_resume, this);
                        break;
                }
            }
            while (_again);
        }
        finally
        {
            _running = false;
        }
    }

    private void Finish(Exception? error, bool targetFailed = false, bool sourceTimedOut = false)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        _worker.Timers.Cancel(this);
        var direction = _direction;
        // Counted before the prefix is released: its unwritten part is still the source's to read.
        long notTaken = direction.NotTaken;
        bool keepSource = error is not null && targetFailed && _count - direction.Forwarded <= _keepSourceWithin;
        direction.ReleasePrefix();
        // A pipe still holding bytes the target never took is closed with them, never cached: for a kept source they
        // count as read (the caller reads only notTaken more), so the source's stream stays in step.
        _worker.Pipes.Return(direction.Pipe, direction.PipeEmpty);
        if (error is null)
        {
            // Back to normal: each socket reads into its input pipe again (at once: an edge may have come meanwhile).
            direction.Source.Socket.LeaveSplice();
            direction.Target.Socket.LeaveSplice();
        }
        else if (keepSource)
        {
            direction.Target.Socket.AbortSplice(error);
            direction.Source.Socket.LeaveSplice();
        }
        else if (!targetFailed)
        {
            // The source ended early, failed or timed out; the target did nothing wrong. Its owner closes it (with a FIN
            // after what it got), as after a copied body whose source ended. It got every byte taken: the source is read
            // only once the prefix is written and the kernel pipe is empty.
            direction.Source.Socket.AbortSplice(error);
            direction.Target.Socket.LeaveSplice();
        }
        else
        {
            direction.Source.Socket.AbortSplice(error);
            direction.Target.Socket.AbortSplice(error);
        }

        Complete(new ForwardResult(direction.Forwarded, 0, ForwardingMode.Splice, error)
        {
            TargetFailed = targetFailed,
            SourceKept = keepSource,
            SourceRemaining = keepSource ? notTaken : 0,
            SourceTimedOut = sourceTimedOut,
            SourceEnded = error is not null && !targetFailed && !sourceTimedOut,
        });
    }
}
