using System.Diagnostics;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

/// <summary>
/// <see cref="ConnectionOptions.IdleTimeout"/> with a fraction of a millisecond is rounded up, as every other deadline
/// given as a TimeSpan (DeadlineRoundingTests): truncated, 200.5 ms closed a connection idle for 200 ms. The sweep's
/// decision is checked on a real worker against the clock its connection was stamped with, so the millisecond is
/// seen exactly; the close itself is observed from the peer. Zero and negative timeouts are refused in one line;
/// <see cref="Timeout.InfiniteTimeSpan"/> never closes an idle connection.
/// </summary>
public sealed class IdleTimeoutRoundingTests
{
    public static TheoryData<long> FractionalTimeoutsInTicks => new()
    {
        2_005_000, // 200.5 ms
        1, // 0.0001 ms: truncated it was 0, which closed a connection at once
        TimeSpan.TicksPerSecond + 9_999, // 1,000.9999 ms
    };

    [Theory]
    [MemberData(nameof(FractionalTimeoutsInTicks))]
    public async Task A_connection_is_not_idle_timed_out_before_the_fraction_of_a_millisecond_has_passed(long ticks)
    {
        var timeout = TimeSpan.FromTicks(ticks);
        long whole = ticks / TimeSpan.TicksPerMillisecond;
        var seen = new TaskCompletionSource<(bool AtWhole, bool AfterFraction, bool AbortedEarly, bool AbortedAfter)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(connection =>
        {
            // Start stamped the last activity with this turn's clock and ran this handler inline, in the same turn.
            var socket = (SocketConnection)connection;
            long stamped = ConnectionForwarder.CurrentWorker()!.NowMs;

            socket.CheckIdle(stamped + whole);
            bool atWhole = connection.InputEnded.IsCancellationRequested;
            socket.CheckIdle(stamped + whole + 1);
            bool afterFraction = connection.InputEnded.IsCancellationRequested;

            // The second period (the handler did not finish) is rounded the same way, counted from the first expiry.
            long firstExpiry = stamped + whole + 1;
            socket.CheckIdle(firstExpiry + whole);
            bool abortedEarly = connection.ConnectionClosed.IsCancellationRequested;
            socket.CheckIdle(firstExpiry + whole + 1);
            bool abortedAfter = connection.ConnectionClosed.IsCancellationRequested;
            seen.SetResult((atWhole, afterFraction, abortedEarly, abortedAfter));
            return Task.CompletedTask;
        }, o =>
        {
            o.Cores = CoreSets.First;
            o.Connection.IdleTimeout = timeout;
        });

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // The handler aborted the connection (the second expiry) before the client saw its connect complete.
        }

        var (atWhole, afterFraction, abortedEarly, abortedAfter) = await seen.Task.WaitAsync(Clients.Timeout);

        Assert.False(atWhole, $"an idle timeout of {timeout.TotalMilliseconds} ms ended the input after {whole} ms idle");
        Assert.True(afterFraction, $"an idle timeout of {timeout.TotalMilliseconds} ms did not end the input after {whole + 1} ms idle");
        Assert.False(abortedEarly, $"the second idle period of {timeout.TotalMilliseconds} ms aborted the connection after {whole} ms");
        Assert.True(abortedAfter, $"the second idle period of {timeout.TotalMilliseconds} ms did not abort the connection after {whole + 1} ms");
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task The_peer_sees_an_idle_connection_closed_no_sooner_than_its_idle_timeout_with_a_fraction(string cores)
    {
        var timeout = TimeSpan.FromTicks(2_005_000); // 200.5 ms
        await using var server = await TestServers.StartAsync(TestServers.ReadToEnd, o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Connection.IdleTimeout = timeout;
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var idleSince = Stopwatch.StartNew(); // the server's last activity (the accept) comes after this
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);

        var received = await Clients.ReadToEndAsync(client); // the FIN: gives up after Clients.Timeout
        var elapsed = idleSince.Elapsed;

        Assert.Empty(received);
        Assert.True(
            elapsed >= timeout - TimeSpan.FromMilliseconds(Clients.CoarseClockSlackMs),
            $"closed after {elapsed.TotalMilliseconds:F1} ms, before the idle timeout of {timeout.TotalMilliseconds} ms");
        Assert.True(elapsed < Clients.Timeout, $"closed only after {elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task An_infinite_idle_timeout_never_ends_an_idle_connection()
    {
        var seen = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(connection =>
        {
            long stamped = ConnectionForwarder.CurrentWorker()!.NowMs;
            ((SocketConnection)connection).CheckIdle(stamped + (long)TimeSpan.FromDays(365).TotalMilliseconds);
            seen.SetResult(connection.InputEnded.IsCancellationRequested);
            return Task.CompletedTask;
        }, o =>
        {
            o.Cores = CoreSets.First;
            o.Connection.IdleTimeout = Timeout.InfiniteTimeSpan;
        });

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);

        Assert.False(await seen.Task.WaitAsync(Clients.Timeout), "a connection idle for a year was closed under an infinite idle timeout");
    }

    [Theory]
    [MemberData(nameof(RefusedTimeouts.InTicks), MemberType = typeof(RefusedTimeouts))]
    public async Task A_zero_or_negative_idle_timeout_is_refused_at_start_in_one_line_naming_it(long ticks)
    {
        var timeout = TimeSpan.FromTicks(ticks);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Connection.IdleTimeout = timeout;
        }));

        Assert.StartsWith($"Connection.IdleTimeout {timeout} is not positive;", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Timeout.InfiniteTimeSpan", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }
}
