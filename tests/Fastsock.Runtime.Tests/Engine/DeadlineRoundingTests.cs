using Fastsock.Engine;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Engine;

/// <summary>
/// A deadline given as a TimeSpan with a fraction of a millisecond is rounded up to the millisecond wherever it is
/// armed (read deadlines, handshake deadlines on both sides, the connect timeout, WorkerDelay): truncated, it could land
/// in the wheel tick before its deadline and fire up to a millisecond early. The wheel tests use fake times; the armed
/// deadlines are read off the wheel on a real worker.
/// </summary>
public sealed class DeadlineRoundingTests
{
    public static TheoryData<long> SubMillisecondDelaysInTicks => new()
    {
        15_000, // 1.5 ms
        4_005_000, // 400.5 ms
        499_999, // 49.9999 ms
        500_005, // 50.0005 ms: one whole tick and a little
    };

    [Theory]
    [MemberData(nameof(SubMillisecondDelaysInTicks))]
    public void A_deadline_with_a_fraction_of_a_millisecond_does_not_fire_in_the_tick_before_it(long ticks)
    {
        var delay = TimeSpan.FromTicks(ticks);
        long whole = ticks / TimeSpan.TicksPerMillisecond;

        // Armed so that the whole milliseconds end exactly on a tick: the fraction is all that is left after that tick.
        long now = (1_000 * TimerWheel.TickMilliseconds) - whole;
        long wholeEnds = now + whole;
        var wheel = new TimerWheel(now);
        var entry = new Entry();
        wheel.Schedule(entry, now, delay);

        wheel.Advance(wholeEnds);
        Assert.False(entry.Fired, $"a {delay.TotalMilliseconds} ms deadline armed at {now} fired at {wholeEnds}, before {now + delay.TotalMilliseconds}");
        wheel.Advance(wholeEnds + TimerWheel.TickMilliseconds);
        Assert.True(entry.Fired, "the deadline did not fire in the next tick");
    }

    [Fact]
    public void Whole_milliseconds_stay_as_they_are_and_any_fraction_rounds_up()
    {
        Assert.Equal(2, TimerWheel.Milliseconds(TimeSpan.FromTicks(15_000)));
        Assert.Equal(1, TimerWheel.Milliseconds(TimeSpan.FromTicks(1)));
        Assert.Equal(400, TimerWheel.Milliseconds(TimeSpan.FromMilliseconds(400)));
        Assert.Equal(0, TimerWheel.Milliseconds(TimeSpan.Zero));
        Assert.Equal(-1, TimerWheel.Milliseconds(Timeout.InfiniteTimeSpan));
        Assert.Equal((TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMillisecond) + 1, TimerWheel.Milliseconds(TimeSpan.MaxValue)); // no overflow
    }

    [Fact]
    public async Task Handshake_and_read_deadlines_armed_on_a_worker_round_a_fraction_of_a_millisecond_up()
    {
        var result = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(connection =>
        {
            var worker = ConnectionForwarder.CurrentWorker()!;
            var handshake = new HandshakeDeadline(connection);
            var read = new ReadDeadline(connection);
            string? handshakeEarly = ArmedEarly(worker, delay => handshake.Arm(worker, delay), handshake, handshake.Disarm);
            string? readEarly = ArmedEarly(worker, delay => read.Arm(worker, delay), read, read.Disarm);
            result.SetResult(handshakeEarly ?? readEarly ?? "");
            return Task.CompletedTask;
        }, o => o.Cores = CoreSets.First);

        using var client = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        Assert.Equal("", await result.Task.WaitAsync(Clients.Timeout));
    }

    /// <summary>
    /// Arms <paramref name="entry"/> (through <paramref name="arm"/>, which reads the clock itself) so that the whole
    /// milliseconds of its delay end exactly on a tick and half a millisecond is left; null when it lands in a later
    /// tick than that one, else what went wrong. Tried again when the clock moved during the arming.
    /// </summary>
    private static string? ArmedEarly(Worker worker, Action<TimeSpan> arm, TimerEntry entry, Action disarm)
    {
        for (int attempt = 0; attempt < 1_000; attempt++)
        {
            long before = Environment.TickCount64;
            long whole = (8 * TimerWheel.TickMilliseconds) - (before % TimerWheel.TickMilliseconds);
            var delay = TimeSpan.FromMilliseconds(whole) + TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 2);
            arm(delay);
            long after = Environment.TickCount64;
            long dueMs = entry.DueTick * TimerWheel.TickMilliseconds;
            disarm();
            if (before == after)
            {
                return dueMs > before + whole ? null : $"{entry.GetType().Name} armed at {before} for {delay.TotalMilliseconds} ms is due at {dueMs}";
            }
        }

        return $"the clock moved during each of 1,000 armings on worker {worker.Index}";
    }

    private sealed class Entry : TimerEntry
    {
        public bool Fired { get; private set; }

        public override void OnExpired() => Fired = true;
    }
}
