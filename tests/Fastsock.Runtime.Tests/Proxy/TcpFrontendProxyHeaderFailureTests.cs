using System.Net.Sockets;
using System.Text;
using Fastsock.Locality;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Frontends;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A tcp frontend whose server takes a PROXY header (<c>sendProxy: v1</c>) and whose first server connection is
/// closed by the server before the header could be sent. The server is an in-process app: it completes both ends of
/// its connection as soon as it is opened, inside the connect, so the header's flush finds the connection closed every
/// time (a TCP server's reset races the proxy's first write, which the kernel accepts before the reset arrives).
/// </summary>
public sealed class TcpFrontendProxyHeaderFailureTests
{
    private const int Workers = 2; // counters and per-worker slots sized for the largest core set below

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_proxy_header_the_server_closed_before_it_was_sent_closes_the_client_and_counts_a_connect_error(string cores)
    {
        int opened = 0;
        var server = new ServerSettings("closer", new ServerAddress(ServerKind.InProc, null, "closer"), 1, ProxyHeaderMode.V1);
        var backend = new BackendSettings("b", BalanceAlgorithm.RoundRobin, [server], HealthCheck: null, MaxIdlePerWorker: 0, KeepAliveIdle: TimeSpan.FromSeconds(30));
        var settings = new FrontendSettings("f", [], ProxyMode.Tcp, backend, 1000, AcceptProxy: false);
        var connector = new ServerConnector(
            new Dictionary<string, ConnectionHandler>
            {
                ["closer"] = app => Interlocked.Increment(ref opened) == 1 ? CloseAtOnce(app) : TestServers.Echo(app),
            },
            TimeSpan.FromSeconds(5));
        var counters = new FrontendCounters(settings, Workers);
        var frontend = new TcpFrontend(settings, new BackendPool(backend, Workers), connector, ForwardingMode.Copy, retries: 0, Workers, NullLogger.Instance)
        {
            Counters = counters,
        };
        await using var proxy = await TestServers.StartAsync(frontend.HandleAsync, o => o.Cores = CpuSet.Parse(cores));

        // First connection: the header cannot be sent, so the client is closed without a byte.
        using (var first = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await first.ConnectAsync(proxy.EndPoints[0]).WaitAsync(Clients.Timeout);
            var (bytes, _) = await Clients.ReadUntilClosedAsync(first);
            Assert.Equal(0, bytes);
        }

        Assert.True(await Eventually.HoldsAsync(() => Sum(counters, FrontendCounters.FrontendRow, static r => r.ConnectErrors) == 1),
            $"the failed header send was not counted as a connect error (frontend connect errors: {Sum(counters, FrontendCounters.FrontendRow, static r => r.ConnectErrors)})");
        Assert.Equal(1, Sum(counters, FrontendCounters.FirstServerRow, static r => r.ConnectErrors));
        Assert.Equal(0, Sum(counters, FrontendCounters.FirstServerRow, static r => r.Sessions)); // nothing was forwarded to it

        // The proxy is still up: the next connection gets its header and its bytes through.
        using var second = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await second.ConnectAsync(proxy.EndPoints[0]).WaitAsync(Clients.Timeout);
        await second.SendAsync("after the failure"u8.ToArray()).WaitAsync(Clients.Timeout);
        second.Shutdown(SocketShutdown.Send);
        var echoed = Encoding.ASCII.GetString(await Clients.ReadToEndAsync(second).WaitAsync(Clients.Timeout));
        Assert.StartsWith("PROXY TCP4 127.0.0.1 127.0.0.1 ", echoed, StringComparison.Ordinal);
        Assert.EndsWith("\r\nafter the failure", echoed, StringComparison.Ordinal);
        Assert.True(await Eventually.HoldsAsync(() => Sum(counters, FrontendCounters.FirstServerRow, static r => r.Sessions) == 1), "the second session was not counted on the server");
        Assert.Equal(1, Sum(counters, FrontendCounters.FrontendRow, static r => r.ConnectErrors));
    }

    /// <summary>The server's side of a connection it refuses to serve: both ends completed before the connect returns.</summary>
    private static Task CloseAtOnce(Connection app)
    {
        app.Transport.Input.Complete();
        app.Transport.Output.Complete();
        return Task.CompletedTask;
    }

    private static long Sum(FrontendCounters counters, int row, Func<SessionCounters, long> field)
    {
        long total = 0;
        for (int w = 0; w < Workers; w++)
        {
            total += field(counters.RowsOf(w)[row]);
        }

        return total;
    }
}
