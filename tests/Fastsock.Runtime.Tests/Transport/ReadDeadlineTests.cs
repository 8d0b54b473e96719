using System.Buffers;
using System.Net.Sockets;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

public sealed class ReadDeadlineTests
{
    [Fact]
    public async Task A_read_deadline_cancels_the_pending_read_and_a_cleared_one_never_fires()
    {
        var outcome = new TaskCompletionSource<(bool FirstCanceled, bool FirstTimedOut, string Second, bool SecondTimedOut)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            var input = connection.Transport.Input;

            // Nothing arrives: the deadline fires and the read completes as cancelled.
            connection.SetReadDeadline(TimeSpan.FromMilliseconds(200));
            var first = await input.ReadAsync();
            input.AdvanceTo(first.Buffer.Start, first.Buffer.End);
            bool firstTimedOut = connection.ReadTimedOut;
            connection.ClearReadDeadline();

            // Armed then cleared: the data that comes later is read normally, with no timeout reported.
            connection.SetReadDeadline(TimeSpan.FromMilliseconds(100));
            connection.ClearReadDeadline();
            ready.SetResult();
            var second = await input.ReadAsync();
            string text = System.Text.Encoding.ASCII.GetString(second.Buffer.ToArray());
            input.AdvanceTo(second.Buffer.End);
            outcome.SetResult((first.IsCanceled, firstTimedOut, text, connection.ReadTimedOut || second.IsCanceled));
        });

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(300); // past the cleared deadline: it must not fire
        await client.SendAsync("late"u8.ToArray()).WithinTimeout();

        var (firstCanceled, firstTimedOut, second, secondTimedOut) = await outcome.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(firstCanceled);
        Assert.True(firstTimedOut);
        Assert.Equal("late", second);
        Assert.False(secondTimedOut);
    }

    [Fact]
    public async Task A_read_deadline_armed_late_in_a_long_turn_waits_its_whole_time()
    {
        var waited = new TaskCompletionSource<(bool Canceled, TimeSpan Elapsed)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            // Keep the worker busy in this turn, so the clock it read at the turn's start is 300 ms old when the
            // deadline is armed.
            var busy = System.Diagnostics.Stopwatch.StartNew();
            while (busy.ElapsedMilliseconds < 300)
            {
                Thread.SpinWait(100);
            }

            var armed = System.Diagnostics.Stopwatch.StartNew();
            connection.SetReadDeadline(TimeSpan.FromMilliseconds(400));
            var read = await connection.Transport.Input.ReadAsync();
            connection.Transport.Input.AdvanceTo(read.Buffer.Start);
            waited.SetResult((read.IsCanceled, armed.Elapsed));
        });

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        var (canceled, elapsed) = await waited.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(canceled);

        // The worker's millisecond clock is coarse (a few ms behind a Stopwatch at most); a deadline counted from the
        // turn's start would have fired ~300 ms early.
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(390), $"the deadline fired {elapsed.TotalMilliseconds:F0} ms after it was armed for 400 ms");
    }

    [Fact]
    public async Task An_infinite_read_deadline_disarms_and_a_zero_or_negative_one_is_refused()
    {
        var outcome = new TaskCompletionSource<(string Zero, string Negative, string Read, bool TimedOut)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            string Refusal(TimeSpan timeout)
            {
                try
                {
                    connection.SetReadDeadline(timeout);
                    return "accepted";
                }
                catch (ArgumentOutOfRangeException ex)
                {
                    return ex.Message;
                }
            }

            string zero = Refusal(TimeSpan.Zero);
            string negative = Refusal(TimeSpan.FromSeconds(-1));
            connection.SetReadDeadline(TimeSpan.FromMilliseconds(100));
            connection.SetReadDeadline(Timeout.InfiniteTimeSpan);
            ready.SetResult();
            var read = await connection.Transport.Input.ReadAsync();
            string text = System.Text.Encoding.ASCII.GetString(read.Buffer.ToArray());
            connection.Transport.Input.AdvanceTo(read.Buffer.End);
            outcome.SetResult((zero, negative, read.IsCanceled ? "canceled" : text, connection.ReadTimedOut));
        });

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(300); // past the 100 ms deadline the infinite one replaced: it must not fire
        await client.SendAsync("late"u8.ToArray()).WithinTimeout();

        var (zero, negative, read, timedOut) = await outcome.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("00:00:00", zero, StringComparison.Ordinal);
        Assert.Contains("Timeout.InfiniteTimeSpan", zero, StringComparison.Ordinal);
        Assert.Contains("-00:00:01", negative, StringComparison.Ordinal);
        Assert.Equal("late", read);
        Assert.False(timedOut);
    }

    [Fact]
    public async Task Setting_a_read_deadline_off_the_worker_thread_is_refused()
    {
        var connectionSeen = new TaskCompletionSource<Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            connectionSeen.SetResult(connection);
            await release.Task;
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        var connection = await connectionSeen.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var error = Assert.Throws<InvalidOperationException>(() => connection.SetReadDeadline(TimeSpan.FromSeconds(1)));
        Assert.Contains("worker thread", error.Message, StringComparison.Ordinal);
        release.SetResult();
    }
}
