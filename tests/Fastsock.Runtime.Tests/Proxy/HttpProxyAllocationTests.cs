using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Samples.Hello;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Frontends;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A keep-alive request through an http frontend to the in-process Hello app, reusing one pooled backend connection,
/// allocates (almost) nothing in the whole process, measured by <see cref="KeepAliveAllocationProbe"/>.
/// </summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpProxyAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Keep_alive_requests_through_the_http_frontend_allocate_nothing_in_the_process()
    {
        await using var server = await StartProxyAsync(maxIdlePerWorker: 8);
        await KeepAliveAllocationProbe.AssertAllocatesNothingAsync(server.EndPoints[0], batch: 1, output);
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
    }

    /// <summary>
    /// 64 exchanges suspended at once on one worker: pooled state machines must cover them all, not one per thread.
    /// </summary>
    [Fact]
    public async Task Keep_alive_requests_from_64_concurrent_connections_through_the_http_frontend_allocate_nothing_in_the_process()
    {
        await using var server = await StartProxyAsync(maxIdlePerWorker: 128); // every backend connection goes back idle
        await KeepAliveAllocationProbe.AssertAllocatesNothingAsync(server.EndPoints[0], batch: 1, output, connections: 64);
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
    }

    /// <summary>
    /// 600 exchanges suspended at once on one worker, more than the box pools start with (256 per type): the pools keep
    /// what completions return instead of dropping the excess for the GC.
    /// </summary>
    [Fact]
    public async Task Keep_alive_requests_from_600_concurrent_connections_through_the_http_frontend_allocate_nothing_in_the_process()
    {
        await using var server = await StartProxyAsync(maxIdlePerWorker: -1);
        await KeepAliveAllocationProbe.AssertAllocatesNothingAsync(server.EndPoints[0], batch: 1, output, connections: 600);
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
    }

    private static async Task<FastsockServer> StartProxyAsync(int maxIdlePerWorker)
    {
        var backend = new BackendSettings(
            "hello", BalanceAlgorithm.RoundRobin, [new ServerSettings("hello", new ServerAddress(ServerKind.InProc, null, "hello"), 1, ProxyHeaderMode.None)],
            HealthCheck: null, MaxIdlePerWorker: maxIdlePerWorker, KeepAliveIdle: TimeSpan.FromSeconds(30));
        var timeouts = new TimeoutSettings(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60));
        FastsockServer? server = null;
        var hello = new HelloApp(() => server!.GetStats());
        var connector = new ServerConnector(new Dictionary<string, ConnectionHandler> { ["hello"] = hello.HandleAsync }, timeouts.Connect);
        var settings = new FrontendSettings("demo", [], ProxyMode.Http, backend, 1000, false);
        var frontend = new HttpFrontend(
            settings, new BackendPool(backend, 1), connector, timeouts, 0, 1, NullLogger.Instance)
        {
            Counters = new FrontendCounters(settings, workerCount: 1), // counting is on the measured path
        };
        server = await TestServers.StartAsync(frontend.HandleAsync, o => o.Cores = CoreSets.First);
        return server;
    }
}
