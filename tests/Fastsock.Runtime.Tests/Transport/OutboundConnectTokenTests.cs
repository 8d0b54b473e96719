using System.Net;
using System.Runtime.CompilerServices;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using static Fastsock.Tests.Support.WorkerThreads;

namespace Fastsock.Tests.Transport;

/// <summary>
/// The token given to a connect matters only until the connect ends. A proxy passes a linked timeout source's token
/// for every backend connection it opens; if the connection kept the token's registration, each source would live as
/// long as its connection (about 0.2 KB per pooled backend connection, for hours).
/// </summary>
public sealed class OutboundConnectTokenTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task An_open_connection_does_not_keep_the_source_of_its_connect_token_alive(int worker)
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo);
        if (worker >= server.Workers.Count)
        {
            return; // one CPU allowed: the one-worker case covers it
        }

        var remote = server.EndPoints[0];
        var (connection, source) = await OnWorker(server, worker, () => ConnectWithOwnSourceAsync(remote));
        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Assert.False(source.TryGetTarget(out _), "the connect token's source is still reachable after the connect, from the open connection");
            Assert.False(connection.ConnectionClosed.IsCancellationRequested, "the connection closed: the test proves nothing");
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

    /// <summary>On a worker: a connect with a linked source's token (as the proxy's connect timeout), the source disposed after.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<(Connection Connection, WeakReference<CancellationTokenSource> Source)> ConnectWithOwnSourceAsync(IPEndPoint remote)
    {
        using var outer = new CancellationTokenSource();
        var linked = CancellationTokenSource.CreateLinkedTokenSource(outer.Token);
        linked.CancelAfter(TimeSpan.FromMinutes(5));
        var connection = await FastsockConnector.ConnectAsync(remote, linked.Token);
        linked.Dispose();
        return (connection, new WeakReference<CancellationTokenSource>(linked));
    }
}
