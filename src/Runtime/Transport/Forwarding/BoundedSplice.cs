using System.IO.Pipelines;
using Fastsock.Engine;
using Fastsock.Native;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// Moves exactly N bytes one way between two sockets of one worker with <c>splice(2)</c> (what the source's input pipe
/// already holds first), then gives both sockets back to their pipes: the connections go on, e.g. with the next HTTP
/// message of a keep-alive exchange. Both fds are lent for the duration (their events come here, nothing is read into
/// their input pipes); bytes after the N stay in the source socket (or its input pipe) for its reader. Any failure,
/// including the source ending early, aborts both connections, except a failed target when the caller allows the
/// source to be kept (<see cref="ForwardResult.SourceKept"/>), and a source that stays silent for the caller's
/// inactivity timeout (<see cref="ForwardResult.SourceTimedOut"/>): only the source is aborted then. Worker thread
/// only, no locks.
/// </summary>
/// <remarks>
/// The inactivity timeout is this object on the worker's timer wheel (no other allocation): armed once when the splice
/// starts and cancelled when it ends, never touched per splice call. Each pass only notes the turn's clock when the
/// direction moved; when the timer fires it fails the splice if the direction has waited on its source alone for the
/// whole timeout, and otherwise schedules itself for the time still to wait. A target that does not take the bytes is
/// not the source's fault: the timeout starts again once it does.
/// </remarks>
internal sealed class BoundedSplice : TimerEntry, ISpliceOwner, IFlushable
{
    private const int MaxDeferrals = 4;
    private static readonly Action<object?> s_resume = static state => ((BoundedSplice)state!).OnResume();

    private readonly Worker _worker;
    private readonly Connection _from;
    private readonly Connection _to;
    private readonly long _count;
    private readonly long _keepSourceWithin;
    private readonly ForwardingOptions _options;
    private readonly long _sourceTimeoutMs;
    private readonly TaskCompletionSource<ForwardResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SpliceDirection? _direction;
    private int _deferrals;
    private bool _resumePosted;
    private bool _running;
    private bool _again;
    private bool _finished;
    private long _progress;
    private long _progressAtMs;

    private BoundedSplice(Worker worker, Connection from, Connection to, long count, long keepSourceWithin, TimeSpan sourceTimeout, ForwardingOptions options)
    {
        _worker = worker;
        _from = from;
        _to = to;
        _count = count;
        _keepSourceWithin = keepSourceWithin;
        _options = options;
        _sourceTimeoutMs = sourceTimeout > TimeSpan.Zero ? (long)Math.Ceiling(sourceTimeout.TotalMilliseconds) : 0;
    }

    IFlushable? IFlushable.NextFlush { get; set; }

    /// <summary>See <see cref="ConnectionForwarder.SpliceExactlyAsync(Connection, Connection, long, long, TimeSpan, ForwardingOptions?)"/>.</summary>
    public static Task<ForwardResult> Start(
        Worker? worker, Connection from, Connection to, long count, long keepSourceWithin, TimeSpan sourceTimeout, ForwardingOptions options)
    {
        var readiness = SpliceForwarder.Check(worker, from, to);
        if (readiness == SpliceReadiness.No)
        {
            return Task.FromResult(NotStarted);
        }

        var splice = new BoundedSplice(worker!, from, to, count, keepSourceWithin, sourceTimeout, options);
        if (readiness == SpliceReadiness.OutputPending)
        {
            // Output flushed just before (a response head) goes out at the end of this turn: splice right after it.
            worker!.QueueFlush(splice);
        }
        else
        {
            splice.TryBegin();
        }

        return splice._done.Task;
    }

    /// <summary>Nothing was moved and both connections are as they were: the caller copies instead.</summary>
    internal static ForwardResult NotStarted => new(0, 0, ForwardingMode.Copy, null);

    void IFlushable.Flush()
    {
        if (SpliceForwarder.Check(_worker, _from, _to) == SpliceReadiness.OutputPending && ++_deferrals < MaxDeferrals)
        {
            _worker.QueueFlush(this);
            return;
        }

        TryBegin();
    }

    public void OnEpollEvents(SocketConnection socket, uint events)
    {
        var direction = _direction!;
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
        bool target = !ReferenceEquals(socket, _direction!.Source.Socket);
        Finish(new ConnectionAbortedException($"The {(target ? "target" : "source")} connection of a bounded splice was closed."), target);
    }

    private void TryBegin()
    {
        if (SpliceForwarder.Check(_worker, _from, _to) != SpliceReadiness.Ready || !_worker.Pipes.TryRent(_options.PipeSize, out var pipe, out _))
        {
            _done.TrySetResult(NotStarted);
            return;
        }

        var source = SpliceForwarder.AsSocket(_from)!;
        var target = SpliceForwarder.AsSocket(_to)!;
        _direction = new SpliceDirection(new SpliceEnd(source), new SpliceEnd(target), pipe, _worker) { Limit = _count };
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
            _done.TrySetResult(new ForwardResult(0, 0, ForwardingMode.Splice, ex));
            return;
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

        Run();
    }

    /// <summary>The inactivity timer: fails the splice, or waits for what is left of the timeout since the last move.</summary>
    public override void OnExpired()
    {
        if (_finished)
        {
            return;
        }

        long quiet = _worker.NowMs - _progressAtMs;
        if (quiet >= _sourceTimeoutMs && _direction!.AwaitsSource)
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

                var direction = _direction!;
                var status = direction.Pump(_options.TurnBudget, nothingSplicedYet: false, out int errno);
                if (direction.Progress != _progress)
                {
                    // No timer operation per pass: the timer reads this when it fires.
                    _progress = direction.Progress;
                    _progressAtMs = _worker.NowMs;
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
        var direction = _direction!;
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
        else if (sourceTimedOut)
        {
            // The target did nothing wrong: its owner closes it (with a FIN after what it got), as after a copied body
            // whose source timed out. It got every byte taken: the splice was waiting on the source, its pipe empty.
            direction.Source.Socket.AbortSplice(error);
            direction.Target.Socket.LeaveSplice();
        }
        else
        {
            direction.Source.Socket.AbortSplice(error);
            direction.Target.Socket.AbortSplice(error);
        }

        _done.TrySetResult(new ForwardResult(direction.Forwarded, 0, ForwardingMode.Splice, error)
        {
            TargetFailed = targetFailed,
            SourceKept = keepSource,
            SourceRemaining = keepSource ? notTaken : 0,
            SourceTimedOut = sourceTimedOut,
        });
    }
}
