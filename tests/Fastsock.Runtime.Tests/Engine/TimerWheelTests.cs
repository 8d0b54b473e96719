using Fastsock.Engine;

namespace Fastsock.Tests.Engine;

/// <summary>Pure logic with fake times: nothing sleeps.</summary>
public sealed class TimerWheelTests
{
    private sealed class Entry(string name, List<string> fired) : TimerEntry
    {
        public override void OnExpired() => fired.Add(name);
    }

    [Fact]
    public void Timers_fire_in_deadline_order_and_not_before_their_time()
    {
        var fired = new List<string>();
        var wheel = new TimerWheel(1_000);
        wheel.Schedule(new Entry("late", fired), 1_000, 300);
        wheel.Schedule(new Entry("early", fired), 1_000, 100);
        wheel.Schedule(new Entry("middle", fired), 1_000, 200);

        wheel.Advance(1_050);
        Assert.Empty(fired);
        wheel.Advance(1_100);
        Assert.Equal(["early"], fired);
        wheel.Advance(1_400);
        Assert.Equal(["early", "middle", "late"], fired);
        Assert.Equal(0, wheel.Count);
    }

    [Fact]
    public void A_cancelled_timer_never_fires()
    {
        var fired = new List<string>();
        var wheel = new TimerWheel(0);
        var cancelled = new Entry("cancelled", fired);
        wheel.Schedule(cancelled, 0, 100);
        wheel.Schedule(new Entry("kept", fired), 0, 100);
        wheel.Cancel(cancelled);

        Assert.False(cancelled.IsScheduled);
        wheel.Advance(10_000);
        Assert.Equal(["kept"], fired);
    }

    [Fact]
    public void A_timer_longer_than_one_revolution_waits_its_extra_rounds()
    {
        var fired = new List<string>();
        var wheel = new TimerWheel(0);
        wheel.Schedule(new Entry("long", fired), 0, 60_000); // more than the wheel's 25.6 s
        wheel.Advance(59_950);
        Assert.Empty(fired);
        wheel.Advance(60_000);
        Assert.Equal(["long"], fired);
    }

    [Fact]
    public void Rescheduling_moves_the_deadline_instead_of_adding_a_second_one()
    {
        var fired = new List<string>();
        var wheel = new TimerWheel(0);
        var entry = new Entry("moved", fired);
        wheel.Schedule(entry, 0, 100);
        wheel.Schedule(entry, 0, 500);
        Assert.Equal(1, wheel.Count);
        wheel.Advance(400);
        Assert.Empty(fired);
        wheel.Advance(500);
        Assert.Equal(["moved"], fired);
    }
}
