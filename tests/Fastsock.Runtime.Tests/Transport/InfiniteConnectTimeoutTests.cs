using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using static Fastsock.Tests.Support.WorkerThreads;

namespace Fastsock.Tests.Transport;

/// <summary>
/// <see cref="OutboundOptions.ConnectTimeout"/> takes <see cref="Timeout.InfiniteTimeSpan"/> as "no connect timeout",
/// as <see cref="ConnectionOptions.IdleTimeout"/> does (it was refused at start; and armed as it was, its -1 ms would
/// have fired at the timer wheel's next tick). Zero and other negative values are still refused in one line. A connect
/// that gets no answer is shown waiting past the tick, then ended by its caller: cancelled, not timed out.
/// </summary>
public sealed class InfiniteConnectTimeoutTests : IDisposable
{
    // Many timer-wheel ticks (50 ms each): a connect timer wrongly armed with the infinite timeout has fired by then.
    private static readonly TimeSpan PendingWindow = TimeSpan.FromSeconds(1);

    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-inf-connect-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task With_an_infinite_connect_timeout_a_connect_to_a_listening_server_completes()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Outbound.ConnectTimeout = Timeout.InfiniteTimeSpan;
        });

        var reply = await OnWorker(server, 0, () => OutboundConnectTests.RoundTrip(server.EndPoints[0], "never times out"));

        Assert.Equal("never times out", reply.Reply);
    }

    [Fact]
    public async Task With_an_infinite_connect_timeout_a_connect_that_gets_no_answer_waits_until_its_caller_gives_up()
    {
        using var silent = await OutboundConnectTests.SilentListener.StartAsync();
        await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Outbound.ConnectTimeout = Timeout.InfiniteTimeSpan;
        });

        using var giveUp = new CancellationTokenSource(PendingWindow);
        var error = await Record.ExceptionAsync(() => server.ConnectAsync(0, silent.EndPoint, giveUp.Token).WaitAsync(Clients.Timeout));

        Assert.True(error is OperationCanceledException, $"the connect ended with {error?.GetType().Name ?? "a connection"} ({error?.Message}), not cancelled by its caller");
    }

    [Fact]
    public async Task With_an_infinite_connect_timeout_a_unix_connect_to_a_full_backlog_retries_until_its_caller_gives_up()
    {
        var path = Path.Combine(_dir, "full.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(0);
        var fillers = new List<Socket>();
        try
        {
            UnixConnectTests.FillBacklog(path, fillers);
            await using var server = await TestServers.StartAsync(TestServers.Echo, o =>
            {
                o.Cores = CoreSets.First;
                o.Outbound.ConnectTimeout = Timeout.InfiniteTimeSpan;
            });

            using var giveUp = new CancellationTokenSource(PendingWindow);
            var error = await Record.ExceptionAsync(() => server.ConnectAsync(0, new UnixDomainSocketEndPoint(path), giveUp.Token).WaitAsync(Clients.Timeout));

            Assert.True(error is OperationCanceledException, $"the connect ended with {error?.GetType().Name ?? "a connection"} ({error?.Message}), not cancelled by its caller");
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(RefusedTimeouts.InTicks), MemberType = typeof(RefusedTimeouts))]
    public async Task A_zero_or_negative_connect_timeout_is_refused_at_start_in_one_line_naming_it(long ticks)
    {
        var timeout = TimeSpan.FromTicks(ticks);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Outbound.ConnectTimeout = timeout;
        }));

        Assert.Equal(
            $"Outbound.ConnectTimeout {timeout} is not positive; give a positive time (e.g. 00:00:05), or Timeout.InfiniteTimeSpan for no connect timeout.",
            refused.Message);
    }
}
