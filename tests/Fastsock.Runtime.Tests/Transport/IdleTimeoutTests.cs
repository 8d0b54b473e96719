using System.Diagnostics;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

/// <summary>
/// The idle timeout (<see cref="ConnectionOptions.IdleTimeout"/>), kept by each worker's sweep over its connections'
/// last activity: an idle connection's input ends, so a handler that reads to the end returns and the peer sees FIN;
/// a handler that does not return is aborted one more period later; nothing is closed before its time.
/// </summary>
public sealed class IdleTimeoutTests
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMilliseconds(400);

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task An_idle_connection_is_closed_once_its_idle_timeout_passed_and_not_before(string cores)
    {
        await using var server = await TestServers.StartAsync(TestServers.ReadToEnd, o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Connection.IdleTimeout = IdleTimeout;
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var idleSince = Stopwatch.StartNew(); // the server's last activity (the accept) is after this
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);

        var received = await Clients.ReadToEndAsync(client);

        Assert.Empty(received);
        // The worker stamps activity with its loop-turn clock, which may lag by a turn: allow 100 ms of it.
        Assert.True(idleSince.Elapsed >= IdleTimeout - TimeSpan.FromMilliseconds(100), $"closed after {idleSince.ElapsedMilliseconds} ms, before the idle timeout of {IdleTimeout.TotalMilliseconds} ms");
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_handler_that_ignores_the_end_of_its_input_is_aborted_after_a_second_idle_period(string cores)
    {
        await using var server = await TestServers.StartAsync(NeverReturns, o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Connection.IdleTimeout = IdleTimeout;
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);

        // Aborted: a reset (or, if the RST raced the read, an end of stream), not a wait for Clients.Timeout.
        var read = Task.Run(() =>
        {
            try
            {
                return client.Receive(new byte[16]);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                return 0;
            }
        });
        Assert.Equal(0, await read.WaitAsync(Clients.Timeout));
        await Eventually.AssertAsync(
            () => server.GetStats().Sum(w => w.Aborted) >= 1,
            () => $"the worker counted {server.GetStats().Sum(w => w.Aborted)} aborted connections, expected the idle one");
    }

    private static Task NeverReturns(Connection connection) => Task.Delay(Timeout.Infinite, connection.ConnectionClosed);
}
