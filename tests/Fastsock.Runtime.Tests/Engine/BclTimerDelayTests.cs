using Fastsock.Engine;

namespace Fastsock.Tests.Engine;

/// <summary>
/// The runtime's few BCL timers (the shutdown timeout and the keep-alive grace through CancelAfter, the wait for the
/// workers to release their listeners in a hand-over through Task.Wait) get their delay from
/// <see cref="BclTimerDelay"/>: those timers truncate to the millisecond, so 0.5 ms became 0 and fired at once, and they
/// throw past int.MaxValue ms. The delay is rounded up as <see cref="TimerWheel.Milliseconds"/> rounds.
/// </summary>
public sealed class BclTimerDelayTests
{
    public static TheoryData<long, long> RoundedUpInTicks => new()
    {
        { 5_000, 1 }, // 0.5 ms: truncated it was 0, which fired at once
        { 1, 1 },
        { 2_005_000, 201 }, // 200.5 ms
        { 20_000, 2 }, // whole milliseconds stay as they are
        { 0, 0 }, // zero (a shutdown timeout of 0: abort at once) stays zero
    };

    [Theory]
    [MemberData(nameof(RoundedUpInTicks))]
    public void A_delay_with_a_fraction_of_a_millisecond_is_rounded_up_for_a_bcl_timer(long ticks, long milliseconds)
    {
        var delay = BclTimerDelay.From(TimeSpan.FromTicks(ticks));

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), delay);
        Assert.Equal(TimerWheel.Milliseconds(TimeSpan.FromTicks(ticks)), (long)delay.TotalMilliseconds);
    }

    [Fact]
    public void An_infinite_delay_stays_infinite_and_one_past_what_the_bcl_timers_take_waits_forever_instead_of_throwing()
    {
        Assert.Equal(Timeout.InfiniteTimeSpan, BclTimerDelay.From(Timeout.InfiniteTimeSpan));
        Assert.Equal(TimeSpan.FromMilliseconds(int.MaxValue), BclTimerDelay.From(TimeSpan.FromMilliseconds(int.MaxValue)));
        var tooLong = TimeSpan.FromMilliseconds(int.MaxValue) + TimeSpan.FromTicks(1);
        Assert.Equal(Timeout.InfiniteTimeSpan, BclTimerDelay.From(tooLong));

        // What a caller does with it: no exception, and no cancellation.
        using var timer = new CancellationTokenSource();
        timer.CancelAfter(BclTimerDelay.From(TimeSpan.FromDays(365)));
        Assert.False(timer.IsCancellationRequested);
    }
}
