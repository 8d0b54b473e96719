using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Fastsock.Engine;

/// <summary>
/// A delay on the current worker's timer wheel, for periodic work of code that runs on a Fastsock worker (sweeps,
/// housekeeping): <c>await WorkerDelay.WaitAsync(TimeSpan.FromSeconds(1))</c>.
/// </summary>
/// <remarks>
/// <see cref="Task.Delay(TimeSpan)"/> fires on the runtime's timer thread and runs its continuation on the .NET thread
/// pool, which then posts back to the worker: every tick wakes a pool thread that spins before it sleeps again. Here the
/// worker's own loop fires the timer (to its 50 ms tick) and the continuation runs inline on the worker, so the thread
/// pool stays asleep.
/// </remarks>
public static class WorkerDelay
{
    /// <summary>Completes on the current worker thread once <paramref name="delay"/> has passed.</summary>
    /// <exception cref="InvalidOperationException">Called from a thread that is not a Fastsock worker.</exception>
    public static ValueTask WaitAsync(TimeSpan delay)
    {
        if (SynchronizationContext.Current is not WorkerSynchronizationContext context || !context.Worker.IsCurrentThread)
        {
            throw new InvalidOperationException(
                "WorkerDelay.WaitAsync was called off a Fastsock worker thread; call it from a connection handler (or use Task.Delay elsewhere).");
        }

        var worker = context.Worker;
        var entry = new DelayEntry(worker, Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency));

        // From the clock now, so a wait begun late in a long turn is not first fired early only to be re-armed by
        // the precise check below.
        worker.Timers.Schedule(entry, Environment.TickCount64, delay);
        return new ValueTask(entry, entry.Version);
    }

    /// <summary>One wait: the timer entry and the source of its task. Allocated per wait; periodic work waits seldom.</summary>
    /// <remarks>
    /// The wheel counts in <see cref="Environment.TickCount64"/> milliseconds, as coarse as the kernel's tick (and a
    /// re-arm uses the clock read at the start of the timer's turn), which may stand a few milliseconds behind the
    /// moment of the call: measured with a precise clock, a wait could end up to that much early. The deadline is
    /// therefore also kept on the precise clock, and a wait that fires short of it waits one more tick.
    /// </remarks>
    private sealed class DelayEntry(Worker worker, long deadline) : TimerEntry, IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core;

        public short Version => _core.Version;

        public override void OnExpired()
        {
            long remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining > 0)
            {
                worker.Timers.Schedule(this, worker.NowMs, Math.Max(1, remaining * 1000 / Stopwatch.Frequency));
                return;
            }

            _core.SetResult(true);
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        // Registered and completed on the same worker thread: no context to capture or post to, the continuation runs
        // inline in the worker's timer turn.
        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext);

        public void GetResult(short token) => _core.GetResult(token);
    }
}
