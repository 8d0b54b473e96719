namespace Fastsock.Engine;

/// <summary>
/// A timeout handed to the BCL's own timers (<see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/>,
/// <see cref="Task.Wait(TimeSpan)"/>), which truncate it to the millisecond: 0.5 ms became 0 and fired at once. Rounded
/// up here as the timer wheel rounds every deadline (<see cref="TimerWheel.Milliseconds"/>), so a positive timeout
/// never fires early.
/// </summary>
internal static class BclTimerDelay
{
    /// <summary>
    /// <paramref name="timeout"/> rounded up to whole milliseconds. <see cref="Timeout.InfiniteTimeSpan"/> stays
    /// infinite, and so does anything past <see cref="int.MaxValue"/> ms (about 24.8 days), which those timers refuse
    /// with an exception: waiting forever instead is late, never early.
    /// </summary>
    public static TimeSpan From(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return timeout;
        }

        long milliseconds = TimerWheel.Milliseconds(timeout);
        return milliseconds > int.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(milliseconds, 0));
    }
}
