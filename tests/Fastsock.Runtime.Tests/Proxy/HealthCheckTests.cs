using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Health;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Tests.Proxy;

public sealed class HealthCheckTests
{
    // A 10 s probe timeout: none of these tests is about the timeout, and the machine is shared and can be slow.
    private static HealthCheckSettings Check(HealthCheckType type, int rise = 1, int fall = 1) =>
        new(type, "/health", 200, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10), rise, fall);

    [Fact]
    public async Task Tcp_check_probes_a_listening_server_marks_it_down_when_its_port_closes_and_up_when_it_listens_again()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;
        var settings = new ServerSettings("s0", new ServerAddress(ServerKind.Tcp, endPoint, null), 1, ProxyHeaderMode.None);
        var server = new ServerState(settings, 0);
        var backend = new BackendSettings("app", BalanceAlgorithm.RoundRobin, [settings], Check(HealthCheckType.Tcp, rise: 2, fall: 2), 0, TimeSpan.FromSeconds(1));
        await using var checker = new HealthChecker(NullLogger.Instance);
        checker.Start(backend, [server]);

        // IsUp starts true, so being up proves nothing by itself: see the probes arrive, and the server stay up.
        for (int probe = 0; probe < 3; probe++)
        {
            using var accepted = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(server.IsUp);
        listener.Stop();
        await WaitForAsync(() => !server.IsUp);

        listener = new TcpListener(endPoint);
        listener.Start();
        try
        {
            await WaitForAsync(() => server.IsUp);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task The_checker_follows_a_backends_set_checking_added_servers_and_no_longer_the_removed_ones()
    {
        var first = new TcpListener(IPAddress.Loopback, 0);
        var second = new TcpListener(IPAddress.Loopback, 0);
        first.Start();
        second.Start();
        try
        {
            ServerSettings On(string name, TcpListener listener) =>
                new(name, new ServerAddress(ServerKind.Tcp, (IPEndPoint)listener.LocalEndpoint, null), 1, ProxyHeaderMode.None);
            var backend = new BackendSettings("app", BalanceAlgorithm.RoundRobin, [On("s0", first)], Check(HealthCheckType.Tcp), 0, TimeSpan.FromSeconds(1));
            var pool = new Fastsock.Samples.Proxy.Routing.BackendPool(backend, workerCount: 1);
            await using var checker = new HealthChecker(NullLogger.Instance);
            checker.Follow(pool);
            using (await first.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(30)))
            {
            }

            pool.ApplyServers([On("s0", first), On("s1", second)]);
            using (await second.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(30)))
            {
            }

            Assert.Equal(2, checker.Checking);
            pool.ApplyServers([On("s1", second)]);
            Assert.Equal(1, checker.Checking);
            using (await second.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(30)))
            {
            }
        }
        finally
        {
            first.Stop();
            second.Stop();
        }
    }

    [Fact]
    public async Task Http_check_wants_the_expected_status()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int status = 500;
        using var stop = new CancellationTokenSource();
        var serve = Task.Run(async () =>
        {
            // Ends only by the cancelled accept (or receive): a loop condition could let it end quietly first.
            while (true)
            {
                using var client = await listener.AcceptSocketAsync(stop.Token);
                var buffer = new byte[1024];
                await client.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                await client.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {Volatile.Read(ref status)} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), SocketFlags.None, stop.Token);
            }
        });

        var address = new ServerAddress(ServerKind.Tcp, (IPEndPoint)listener.LocalEndpoint, null);
        Assert.Equal("HTTP 500, expected 200", await HealthChecker.ProbeAsync(address, null, Check(HealthCheckType.Http), CancellationToken.None));
        Volatile.Write(ref status, 200);
        Assert.Null(await HealthChecker.ProbeAsync(address, null, Check(HealthCheckType.Http), CancellationToken.None));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serve);
    }

    [Fact]
    public async Task A_refused_connection_is_a_failed_check_with_the_reason()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var endPoint = (IPEndPoint)probe.LocalEndpoint;
        probe.Stop();
        var reason = await HealthChecker.ProbeAsync(new ServerAddress(ServerKind.Tcp, endPoint, null), null, Check(HealthCheckType.Tcp), CancellationToken.None);
        Assert.Equal("ConnectionRefused", reason);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(20);
        }
    }
}
