using Fastsock.Engine;
using Fastsock.Native;

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// Forwards between two sockets of one worker with <c>splice(2)</c>, driven by their edge-triggered epoll events
/// (see <see cref="SocketConnection.BeginSplice"/> for the handoff). Each direction has its own kernel pipe from the
/// worker's <see cref="Memory.KernelPipeCache"/>. A FIN is passed on once its direction's pipe is drained
/// (shutdown(SHUT_WR), the other direction goes on); both FINs forwarded ends the forward. A side whose read fails (a
/// reset) is aborted at once, and the other side is reset once every byte taken from the failed side has reached its
/// peer (SpliceForwarder.Failure.cs), as <see cref="CopyForwarder"/> does; a failed write (the receiving side is gone)
/// aborts both at once. Worker thread only, no locks.
/// </summary>
internal sealed partial class SpliceForwarder : ISpliceOwner
{
    private static readonly Action<object?> s_resume = static state => ((SpliceForwarder)state!).OnResume();
    private static volatile bool s_unsupported;

    private readonly Worker _worker;
    private readonly Connection _first;
    private readonly Connection _second;
    private readonly SpliceEnd _firstEnd;
    private readonly SpliceEnd _secondEnd;
    private readonly SpliceDirection _toSecond;
    private readonly SpliceDirection _toFirst;
    private readonly long _budget;
    private readonly ForwardingOptions _options;
    private readonly TaskCompletionSource<ForwardResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _resumePosted;
    private bool _finished;
    private bool _running;
    private bool _again;
    private bool _simulatedUnsupported;

    private SpliceForwarder(Worker worker, Connection first, Connection second, SocketConnection a, SocketConnection b, Memory.KernelPipe pipeA, Memory.KernelPipe pipeB, ForwardingOptions options)
    {
        _worker = worker;
        _first = first;
        _second = second;
        _firstEnd = new SpliceEnd(a);
        _secondEnd = new SpliceEnd(b);
        _toSecond = new SpliceDirection(_firstEnd, _secondEnd, pipeA, worker);
        _toFirst = new SpliceDirection(_secondEnd, _firstEnd, pipeB, worker);
        _budget = options.TurnBudget;
        _options = options;
        _simulatedUnsupported = options.SimulateSpliceUnsupported;
        _toSecond.SimulateUnsupported = _simulatedUnsupported;
        _toFirst.SimulateUnsupported = _simulatedUnsupported;
    }

    /// <summary>True once the kernel refused splice on a socket: later forwards copy without trying again.</summary>
    internal static bool Unsupported => s_unsupported;

    /// <summary>Events of either socket, routed here by the socket while it is lent.</summary>
    public void OnEpollEvents(SocketConnection socket, uint events)
    {
        var end = ReferenceEquals(socket, _firstEnd.Socket) ? _firstEnd : _secondEnd;
        if ((events & (EpollCalls.EPOLLIN | EpollCalls.EPOLLRDHUP | EpollCalls.EPOLLHUP | EpollCalls.EPOLLERR)) != 0)
        {
            end.Readable = true;
        }

        if ((events & (EpollCalls.EPOLLOUT | EpollCalls.EPOLLHUP | EpollCalls.EPOLLERR)) != 0)
        {
            end.Writable = true;
        }

        Run();
    }

    /// <summary>A socket closed under the forward (aborted by its handler, idle timeout, server shutdown).</summary>
    public void OnSocketClosed(SocketConnection socket) =>
        Finish(new ConnectionAbortedException($"The {(ReferenceEquals(socket, _firstEnd.Socket) ? "first" : "second")} connection of a splice forward was closed."));

    private void OnResume()
    {
        _resumePosted = false;
        Run();
    }

    private void Run()
    {
        if (_running)
        {
            _again = true; // an event raised by our own syscalls; the loop below picks it up
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

                if (_delivering is not null)
                {
                    Deliver(); // a side failed: only the bytes taken from it still move
                    continue;
                }

                bool fresh = _toSecond.Spliced + _toFirst.Spliced == 0 && _toSecond.PipeEmpty && _toFirst.PipeEmpty;
                var first = _toSecond.Pump(_budget, fresh, out int errno);
                if (!Handle(first, _toSecond, errno))
                {
                    return;
                }

                var second = _toFirst.Pump(_budget, fresh, out errno);
                if (!Handle(second, _toFirst, errno))
                {
                    return;
                }

                if (_toSecond.Done && _toFirst.Done)
                {
                    Finish(null);
                    return;
                }

                if ((first == PumpStatus.BudgetSpent || second == PumpStatus.BudgetSpent) && !_resumePosted)
                {
                    // Edge-triggered: nobody will tell us again that there is more. Go on next turn, after the others.
                    _resumePosted = true;
                    _worker.Post(s_resume, this);
                }
            }
            while (_again);
        }
        finally
        {
            _running = false;
        }
    }

    /// <summary>False when the forward ended (failed or fell back to copy).</summary>
    private bool Handle(PumpStatus status, SpliceDirection direction, int errno)
    {
        switch (status)
        {
            case PumpStatus.Failed:
                var error = new ConnectionResetException($"{direction.FailedCall}: {Errno.Name(errno)} ({Errno.Describe(errno)})");
                if (direction.TargetFailed)
                {
                    Finish(error);
                }
                else
                {
                    DeliverThenReset(direction, error);
                }

                return false;
            case PumpStatus.Unsupported:
                FallBackToCopy();
                return false;
            default:
                return true;
        }
    }

    private void Finish(Exception? error)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        error = _failure ?? error; // a close during the delivery after a failure: the failure is what ended the forward
        ReleasePipes();
        if (error is null)
        {
            _firstEnd.Socket.EndSplice();
            _secondEnd.Socket.EndSplice();
        }
        else
        {
            _firstEnd.Socket.AbortSplice(error);
            _secondEnd.Socket.AbortSplice(error);
        }

        // The forward owns both connections to the end: completing their ends lets them close (and recycle).
        CompleteEnds(_first);
        CompleteEnds(_second);
        _done.TrySetResult(new ForwardResult(_toSecond.Forwarded, _toFirst.Forwarded, ForwardingMode.Splice, error));
    }

    private void FallBackToCopy()
    {
        if (!_simulatedUnsupported)
        {
            s_unsupported = true;
        }

        _finished = true;
        ReleasePipes();
        _firstEnd.Socket.LeaveSplice();
        _secondEnd.Socket.LeaveSplice();
        long before1 = _toSecond.Forwarded;
        long before2 = _toFirst.Forwarded;
        CopyForwarder.RunAsync(_first, _second, _worker, _options).ContinueWith(static (task, state) =>
        {
            var (self, sent1, sent2) = ((SpliceForwarder, long, long))state!;
            var copied = task.Result;
            self._done.TrySetResult(copied with { FirstToSecond = copied.FirstToSecond + sent1, SecondToFirst = copied.SecondToFirst + sent2 });
        }, (this, before1, before2), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void ReleasePipes()
    {
        _toSecond.ReleasePrefix();
        _toFirst.ReleasePrefix();
        _worker.Pipes.Return(_toSecond.Pipe, _toSecond.PipeEmpty);
        _worker.Pipes.Return(_toFirst.Pipe, _toFirst.PipeEmpty);
    }

    private static void CompleteEnds(Connection connection)
    {
        connection.Transport.Input.Complete();
        connection.Transport.Output.Complete();
    }
}
