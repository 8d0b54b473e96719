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
