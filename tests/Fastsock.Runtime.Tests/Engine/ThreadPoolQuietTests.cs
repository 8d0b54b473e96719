using System.Net;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Samples.Hello;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Frontends;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Tests.Proxy;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Fastsock.Tests.Engine;

/// <summary>
/// A keep-alive request stays on its worker thread: the .NET thread pool runs (almost) nothing while a proxy serves
/// 64 keep-alive clients, measured by <see cref="ThreadPoolQuietProbe"/> against an idle window of the same length.
/// </summary>
public sealed class ThreadPoolQuietTests(ITestOutputHelper output) : IDisposable
{
    private const int Clients = 64;
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-tpquiet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Keep_alive_requests_proxied_to_nginx_run_almost_no_thread_pool_work_items()
    {
        using var nginx = await LoopbackPorts.StartPeerAsync(port => NginxServer.StartAsync(_dir, port, "big"u8.ToArray()));
        var address = new ServerAddress(ServerKind.Tcp, new IPEndPoint(IPAddress.Loopback, nginx.Port), null);
        await using var server = await StartProxyAsync(address, new Dictionary<string, ConnectionHandler>());
        await ThreadPoolQuietProbe.AssertQuietAsync(server.EndPoints[0], Clients, "Hello", output);
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
    }

    [Fact]
    public async Task Keep_alive_requests_proxied_to_the_in_process_app_run_almost_no_thread_pool_work_items()
    {
        FastsockServer? server = null;
        var hello = new HelloApp(() => server!.GetStats());
        var address = new ServerAddress(ServerKind.InProc, null, "hello");
        server = await StartProxyAsync(address, new Dictionary<string, ConnectionHandler> { ["hello"] = hello.HandleAsync });
        await using (server)
        {
            await ThreadPoolQuietProbe.AssertQuietAsync(server.EndPoints[0], Clients, "Hello, World!", output);
            Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
        }
    }

    private static async Task<FastsockServer> StartProxyAsync(ServerAddress address, Dictionary<string, ConnectionHandler> inProc)
    {
        // The pool's defaults (keep what demand returns, 30 s idle): its sweep timer runs while the test measures.
        var backend = new BackendSettings(
            "b", BalanceAlgorithm.RoundRobin, [new ServerSettings("s", address, 1, ProxyHeaderMode.None)],
            HealthCheck: null, MaxIdlePerWorker: -1, KeepAliveIdle: TimeSpan.FromSeconds(30));
        var timeouts = new TimeoutSettings(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60));
        var connector = new ServerConnector(inProc, timeouts.Connect);
        var settings = new FrontendSettings("quiet", [], ProxyMode.Http, backend, 1000, false);
        var frontend = new HttpFrontend(settings, new BackendPool(backend, 1), connector, timeouts, 0, 1, NullLogger.Instance);
        return await TestServers.StartAsync(frontend.HandleAsync, o => o.Cores = CpuSet.Of(CpuSet.Allowed()[0]));
    }
}
