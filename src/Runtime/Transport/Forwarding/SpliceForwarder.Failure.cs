// The delivery wait is observed through its awaiter's callback: GetResult runs only after completion.
#pragma warning disable CA2012

namespace Fastsock.Transport.Forwarding;

/// <summary>
/// A read that fails (a reset): the failed side is aborted at once, and the other side gets every byte taken from the
/// failed one before it is reset, as in <see cref="CopyForwarder"/>. A reset (SO_LINGER 0) throws away what is still in
/// the kernel pipe towards it and in its socket's send queue, and those bytes were good. Allocates only here, once per
/// failed forward.
/// </summary>
internal sealed partial class SpliceForwarder
{
    private SpliceDirection? _delivering; // the direction whose source failed: it only delivers what it holds
    private Exception? _failure;
    private bool _waitingForQueue;

    /// <summary>
    /// The first failure of the forward, a read from <paramref name="failed"/>'s source: that socket is reset now
    /// (its fd is closed, so neither direction touches it again), the other direction stops (what it reads has nowhere
    /// to go), and <paramref name="failed"/> goes on delivering to its target until its pipe is empty.
    /// </summary>
    private void DeliverThenReset(SpliceDirection failed, Exception error)
    {
        _failure = error;
        _delivering = failed;
        failed.StopTaking();
        failed.Source.Socket.AbortSplice(error);
        Deliver();
    }

    /// <summary>Splices what the failed direction still holds into its target (on EPOLLOUT, as usual), then waits for its send queue.</summary>
    private void Deliver()
    {
        if (_waitingForQueue)
        {
            return; // nothing left in the pipe; the target's events change nothing until its send queue is empty
        }

        var direction = _delivering!;
        var status = direction.Pump(_budget, nothingSplicedYet: false, out _);
        if (status == PumpStatus.Failed)
        {
            Finish(_failure); // the target is gone too: nobody is left to deliver to
            return;
        }

        if (status == PumpStatus.BudgetSpent && !_resumePosted)
        {
            _resumePosted = true;
            _worker.Post(s_resume, this);
            return;
        }

        if (direction.Done)
        {
            _waitingForQueue = true;
            ResetOnceDelivered(ReferenceEquals(direction.Target, _firstEnd) ? _first : _second);
        }
    }

    /// <summary>Resets <paramref name="target"/> once its send queue is empty (or the wait ran out): it can then tell the stream was cut.</summary>
    private void ResetOnceDelivered(Connection target)
    {
        var wait = QueuedOutputDelivery.WaitAsync(_worker, target, _options.QueuedOutputTimeout);
        if (wait.IsCompleted)
        {
            Finish(_failure);
            return;
        }

        // The wait completes on this worker, from its run queue (see QueuedOutputDelivery).
        var awaiter = wait.GetAwaiter();
        awaiter.UnsafeOnCompleted(() =>
        {
            awaiter.GetResult();
            Finish(_failure);
        });
    }
}
