using System.Net;
using System.Net.Sockets;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Health;
using Fastsock.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The proxy's BCL timers (CancelAfter for the connect and health-check timeouts, the PROXY header deadline, and
/// PeriodicTimer for health-check and DNS intervals) get their delay from <see cref="Duration.ForTimer"/>: those
/// timers truncate to the millisecond, so a config's "0.5ms" became 0, which CancelAfter fires at once and
/// PeriodicTimer refuses with an exception. Rounded up as every other timeout of the proxy
/// (<see cref="Duration.CeilingMilliseconds"/>), a positive duration never fires early.
/// </summary>
public sealed class SubMillisecondTimerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-timers-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("0.5ms", 1)]
    [InlineData("0.0001ms", 1)]
    [InlineData("200.5ms", 201)]
    [InlineData("2s", 2000)]
    [InlineData("1193h", 1193L * 3_600_000)] // under the longest a BCL timer takes (about 49.7 days)
    public void A_config_duration_reaches_a_bcl_timer_rounded_up_to_the_millisecond(string written, long milliseconds)
    {
        Assert.True(Duration.TryParse(written, out var duration));

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Duration.ForTimer(duration));
    }

    [Fact]
    public void A_duration_longer_than_a_bcl_timer_takes_waits_forever_instead_of_throwing()
    {
        Assert.True(Duration.TryParse("1194h", out var duration));

        var delay = Duration.ForTimer(duration);

        Assert.Equal(Timeout.InfiniteTimeSpan, delay);
        using var timer = new PeriodicTimer(delay);
        using var deadline = new CancellationTokenSource();
        deadline.CancelAfter(delay);
        Assert.False(deadline.IsCancellationRequested);
    }

    [Fact]
    public async Task A_health_check_interval_under_a_millisecond_from_the_config_keeps_probing_the_server()
    {
        // Truncated, "0.5ms" was a PeriodicTimer of 0 ms, which throws: the check loop died before its first probe.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var path = Path.Combine(_dir, "proxy.json");
            File.WriteAllText(path, $$"""
                { "frontends": [ { "bind": ["127.0.0.1:80"], "backend": "app" } ],
                  "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:{{port}}" } ],
                                  "healthCheck": { "type": "tcp", "interval": "0.5ms", "timeout": "10s", "rise": 1, "fall": 1 } } ] }
                """);
            var backend = ConfigLoader.Load(path).Frontends[0].Backend;
            Assert.Equal(TimeSpan.FromTicks(5_000), backend.HealthCheck!.Interval);
            var server = new ServerState(backend.Servers[0], 0);
            await using var checker = new HealthChecker(NullLogger.Instance);

            checker.Start(backend, [server]);

            // Several probes, not one: the loop goes round its timer.
            for (int probe = 0; probe < 3; probe++)
            {
                using var accepted = await listener.AcceptSocketAsync().WaitAsync(Clients.Timeout);
            }

            Assert.True(server.IsUp);
        }
        finally
        {
            listener.Stop();
        }
    }
}
