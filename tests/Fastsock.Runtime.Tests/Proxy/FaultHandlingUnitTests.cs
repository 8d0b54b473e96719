using System.Net;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Health;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Tests.Proxy;

/// <summary>Passive health, slow start, exclusion in the balancers and the new backend keys, without processes.</summary>
public sealed class FaultHandlingUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-faults-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ServerSettings Server(int i, int weight = 1) =>
        new($"s{i}", new ServerAddress(ServerKind.Tcp, new IPEndPoint(IPAddress.Loopback, 9000 + i), null), weight, ProxyHeaderMode.None);

    private static BackendSettings Backend(IReadOnlyList<ServerSettings> servers, bool healthCheck = true, int errorLimit = 3) => new(
        "app", BalanceAlgorithm.RoundRobin, servers,
        healthCheck ? new HealthCheckSettings(HealthCheckType.Tcp, "/", 200, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 2, 2) : null,
        0, TimeSpan.FromSeconds(1), FaultSettings.Default with { ErrorLimit = errorLimit });

    [Fact]
    public void Errors_in_a_row_up_to_the_limit_mark_a_server_down_once_and_a_good_exchange_restarts_the_count()
    {
        var settings = Backend([Server(0)], errorLimit: 3);
        var server = new ServerState(settings.Servers[0], 0);
        var health = new PassiveHealth(settings, [server], NullLogger.Instance);
        int generation = server.Generation;

        health.Failed(server, ExchangeFailure.ConnectRefused, "refused");
        health.Failed(server, ExchangeFailure.Reset, "reset");
        PassiveHealth.Succeeded(server);
        health.Failed(server, ExchangeFailure.ConnectRefused, "refused");
        health.Failed(server, ExchangeFailure.ResponseTimeout, "timeout");
        Assert.True(server.IsUp);

        health.Failed(server, ExchangeFailure.ConnectRefused, "refused");
        Assert.False(server.IsUp);
        health.Failed(server, ExchangeFailure.ConnectRefused, "refused");
        Assert.Equal(generation + 1, server.Generation);
    }

    [Fact]
    public void Without_an_active_check_errors_are_counted_but_never_mark_a_server_down()
    {
        var settings = Backend([Server(0)], healthCheck: false, errorLimit: 1);
        var server = new ServerState(settings.Servers[0], 0);
        var health = new PassiveHealth(settings, [server], NullLogger.Instance);

        for (int i = 0; i < 10; i++)
        {
            health.Failed(server, ExchangeFailure.ConnectRefused, "refused");
        }

        Assert.True(server.IsUp);
    }

    [Fact]
    public async Task A_server_back_up_with_slow_start_starts_at_weight_one_and_reaches_its_full_weight()
    {
        var server = new ServerState(Server(0, weight: 100), 0);
        server.IsUp = false;
        Assert.True(server.TryMarkUp(TimeSpan.FromSeconds(2)));
        Assert.InRange(server.Weight, 1, 50);

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (server.Weight < 100 && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }

        Assert.Equal(100, server.Weight);
    }

    [Theory]
    [InlineData("RoundRobin")]
    [InlineData("LeastConn")]
    [InlineData("Source")]
    [InlineData("Random")]
    public void Every_balancer_leaves_out_the_excluded_servers_and_returns_null_when_all_are(string algorithm)
    {
        ServerState[] servers = [new(Server(0, 5), 0), new(Server(1, 1), 1), new(Server(2, 5), 2)];
        var balancer = Balancer.Create(Enum.Parse<BalanceAlgorithm>(algorithm), servers, seed: 1);
        ulong excluded = Balancer.Bit(servers[0]) | Balancer.Bit(servers[2]);
        for (ulong hash = 0; hash < 50; hash++)
        {
            Assert.Same(servers[1], balancer.Pick(hash, excluded));
        }

        Assert.Null(balancer.Pick(0, excluded | Balancer.Bit(servers[1])));
    }

    [Fact]
    public void Fault_keys_are_read_and_a_bad_retry_on_names_its_key()
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, """
            { "frontends": [ { "bind": [ "127.0.0.1:8080" ], "backend": "app" } ],
              "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:9000" } ], "redispatch": false,
                              "retryOn": [ "conn-failure" ], "observe": { "onError": "none", "errorLimit": 5 }, "slowStart": "10s" } ] }
            """);
        var faults = ConfigLoader.Load(path).Backends[0].Faults;
        Assert.Equal(new FaultSettings(false, RetryOn.ConnFailure, false, 5, TimeSpan.FromSeconds(10)), faults);

        File.WriteAllText(path, """
            { "frontends": [ { "bind": [ "127.0.0.1:8080" ], "backend": "app" } ],
              "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:9000" } ], "retryOn": [ "response-timeout", "buffered-body" ], "retryBodyLimit": 4096 } ] }
            """);
        var bodies = ConfigLoader.Load(path).Backends[0].Faults;
        Assert.Equal((RetryOn.ResponseTimeout | RetryOn.BufferedBody, 4096), (bodies.RetryOn, bodies.RetryBodyLimit));

        File.WriteAllText(path, """
            { "frontends": [ { "bind": [ "127.0.0.1:8080" ], "backend": "app" } ],
              "backends": [ { "name": "app", "servers": [ { "address": "127.0.0.1:9000" } ], "retryOn": [ "conn-failure", "sometimes" ] } ] }
            """);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal("backends[0].retryOn[1]", error.Key);
    }
}
