using System.Net.Sockets;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using static Fastsock.Tests.Support.WorkerThreads;

namespace Fastsock.Tests.Transport;

/// <summary>
/// <see cref="Connection.InputEnded"/> of an outbound connection follows its socket, as an accepted one's does: a
/// pool can see that a server closed an idle connection nobody reads (it was <see cref="CancellationToken.None"/>).
/// </summary>
public sealed class OutboundInputEndedTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task The_server_s_fin_on_a_connection_nobody_reads_ends_its_input(int worker)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo);
        if (worker >= server.Workers.Count)
        {
            return; // one CPU allowed: the one-worker case covers it
        }

        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        listener.Listen();
        var remote = (System.Net.IPEndPoint)listener.LocalEndPoint!;
        var connection = await OnWorker(server, worker, () => FastsockConnector.ConnectAsync(remote));
        try
        {
            Assert.False(await OnWorker(server, worker, () => Task.FromResult(connection.InputEnded.IsCancellationRequested)), "ended before the server closed");
            using (var accepted = await listener.AcceptAsync().WaitAsync(Clients.Timeout))
            {
                accepted.Shutdown(SocketShutdown.Both); // its FIN; nobody reads the connection's input
            }

            Assert.True(
                await Eventually.HoldsAsync(() => OnWorker(server, worker, () => Task.FromResult(connection.InputEnded.IsCancellationRequested))),
                "InputEnded was not cancelled after the server's FIN");
        }
        finally
        {
            await OnWorker(server, worker, async () =>
            {
                await connection.Transport.Output.CompleteAsync();
                await connection.Transport.Input.CompleteAsync();
                return true;
            });
        }
    }
}
