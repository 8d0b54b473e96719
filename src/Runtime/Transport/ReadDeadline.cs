using Fastsock.Engine;

namespace Fastsock.Transport;

/// <summary>
/// A connection's read deadline on its worker's timer wheel: arming and disarming are O(1) list operations on the
/// owner core (no System.Threading timer, whose queue is a process-wide lock, and no thread-pool callback). When it
/// fires, the pending read of the connection's input completes as cancelled and <see cref="TimedOut"/> is set.
/// </summary>
internal sealed class ReadDeadline(Connection connection) : TimerEntry
{
    public bool TimedOut { get; private set; }

    public void Arm(Worker worker, TimeSpan timeout)
    {
        if (!worker.IsCurrentThread)
        {
            throw new InvalidOperationException("SetReadDeadline was called off the connection's worker thread; call it from the connection's handler.");
        }

        if (timeout == Timeout.InfiniteTimeSpan)
        {
            Disarm();
            return;
        }

        if (timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(timeout), timeout, $"A read deadline of {timeout} is not a time to wait: give a positive TimeSpan, or Timeout.InfiniteTimeSpan for none.");
        }

        TimedOut = false;

        // The clock now, not the one read at the start of the worker's turn: armed late in a long turn, the deadline
        // would otherwise fire up to that turn's length early.
        worker.Timers.Schedule(this, Environment.TickCount64, timeout);
    }

    public void Disarm()
    {
        Wheel?.Cancel(this);
        TimedOut = false;
    }

    public override void OnExpired()
    {
        TimedOut = true;
        connection.Transport.Input.CancelPendingRead();
    }
}
