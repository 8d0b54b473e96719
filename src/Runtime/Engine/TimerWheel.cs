namespace Fastsock.Engine;

/// <summary>
/// A hashed timer wheel owned by one worker: O(1) schedule and cancel through intrusive links, no allocation,
/// no lock. Deadlines are rounded up to the tick; connection timeouts need no finer grain.
/// </summary>
internal sealed class TimerWheel
{
    public const int TickMilliseconds = 50;
    private const int SlotCount = 512; // 25.6 s per revolution; longer timers wait extra rounds.

    private readonly TimerEntry?[] _slots = new TimerEntry?[SlotCount];
    private long _currentTick;

    public TimerWheel(long nowMs) => _currentTick = nowMs / TickMilliseconds;

    public int Count { get; private set; }

    /// <summary>Milliseconds <c>epoll_wait</c> may sleep: to the next tick while timers exist, forever otherwise.</summary>
    public int SleepBudget(long nowMs)
    {
        if (Count == 0)
        {
            return -1;
        }

        long next = (_currentTick + 1) * TickMilliseconds;
        return (int)Math.Clamp(next - nowMs, 0, TickMilliseconds);
    }

    /// <summary>
    /// Schedules <paramref name="entry"/> <paramref name="delay"/> after <paramref name="nowMs"/>, the delay rounded up to
    /// the millisecond (<see cref="Milliseconds"/>): every deadline given as a TimeSpan is armed this way.
    /// </summary>
    public void Schedule(TimerEntry entry, long nowMs, TimeSpan delay) => Schedule(entry, nowMs, Milliseconds(delay));

    /// <summary>
    /// A delay in whole milliseconds for the wheel, rounded up: truncated, a delay with a fraction of a millisecond
    /// could land in the tick before its deadline and fire early. Negative delays stay negative (the wheel fires them
    /// at its next tick).
    /// </summary>
    public static long Milliseconds(TimeSpan delay)
    {
        long whole = delay.Ticks / TimeSpan.TicksPerMillisecond;
        return delay.Ticks % TimeSpan.TicksPerMillisecond > 0 ? whole + 1 : whole;
    }

    public void Schedule(TimerEntry entry, long nowMs, long delayMs)
    {
        if (entry.Wheel is not null)
        {
            Cancel(entry);
        }

        long due = (nowMs + Math.Max(delayMs, 0) + TickMilliseconds - 1) / TickMilliseconds;
        if (due <= _currentTick)
        {
            due = _currentTick + 1;
        }

        entry.DueTick = due;
        entry.Wheel = this;
        int slot = (int)(due % SlotCount);
        entry.Next = _slots[slot];
        entry.Previous = null;
        if (entry.Next is not null)
        {
            entry.Next.Previous = entry;
        }

        _slots[slot] = entry;
        Count++;
    }

    public void Cancel(TimerEntry entry)
    {
        if (entry.Wheel != this)
        {
            return;
        }

        if (entry.Previous is not null)
        {
            entry.Previous.Next = entry.Next;
        }
        else
        {
            _slots[(int)(entry.DueTick % SlotCount)] = entry.Next;
        }

        if (entry.Next is not null)
        {
            entry.Next.Previous = entry.Previous;
        }

        entry.Next = entry.Previous = null;
        entry.Wheel = null;
        Count--;
    }

    /// <summary>Fires every entry whose tick has passed. Entries may reschedule themselves from the callback.</summary>
    public void Advance(long nowMs)
    {
        long target = nowMs / TickMilliseconds;
        while (_currentTick < target && Count > 0)
        {
            _currentTick++;
            int slot = (int)(_currentTick % SlotCount);
            var entry = _slots[slot];
            while (entry is not null)
            {
                var next = entry.Next;
                if (entry.DueTick <= _currentTick)
                {
                    Cancel(entry);
                    entry.OnExpired();
                }

                entry = next;
            }
        }

        if (Count == 0)
        {
            _currentTick = Math.Max(_currentTick, target);
        }
    }
}

/// <summary>An intrusive timer: embed it in the object that owns the timeout, so scheduling allocates nothing.</summary>
internal abstract class TimerEntry
{
    internal TimerEntry? Next;
    internal TimerEntry? Previous;
    internal TimerWheel? Wheel;
    internal long DueTick;

    public bool IsScheduled => Wheel is not null;

    public abstract void OnExpired();
}
