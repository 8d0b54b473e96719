using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;

namespace Fastsock.Tests.Proxy;

/// <summary><c>backends[i].keepAlive</c>: HAProxy's default (idle connections as demand leaves them), limits, and bad values.</summary>
public sealed class BackendKeepAliveConfigTests
{
    [Fact]
    public void Without_keep_alive_settings_idle_backend_connections_are_limited_only_by_demand_and_a_30s_idle_timeout()
    {
        var backend = Validate(new KeepAliveConfig());
        Assert.Equal(BackendConnectionPool.Unlimited, backend.MaxIdlePerWorker);
        Assert.Equal(TimeSpan.FromSeconds(30), backend.KeepAliveIdle);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1000)]
    public void A_limit_of_minus_one_zero_or_a_count_is_taken_as_written(int maxIdle) =>
        Assert.Equal(maxIdle, Validate(new KeepAliveConfig { MaxIdlePerWorker = maxIdle, IdleTimeout = "5s" }).MaxIdlePerWorker);

    [Fact]
    public void A_negative_limit_other_than_minus_one_is_refused_naming_the_key_and_the_values_to_use()
    {
        var error = Assert.Throws<ConfigException>(() => Validate(new KeepAliveConfig { MaxIdlePerWorker = -5 }));
        Assert.Equal("backends[0].keepAlive.maxIdlePerWorker", error.Key);
        Assert.Contains("-5 is out of range", error.Message, StringComparison.Ordinal);
        Assert.Contains("-1 (no limit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zero_idle_timeout_is_refused()
    {
        var error = Assert.Throws<ConfigException>(() => Validate(new KeepAliveConfig { IdleTimeout = "0s" }));
        Assert.Equal("backends[0].keepAlive.idleTimeout", error.Key);
    }

    private static BackendSettings Validate(KeepAliveConfig keepAlive) =>
        ConfigValidator.Validate(
            new ProxyConfig
            {
                Frontends = [new FrontendConfig { Bind = ["127.0.0.1:1"], Backend = "b" }],
                Backends = [new BackendConfig { Name = "b", Servers = [new ServerConfig { Address = "127.0.0.1:2" }], KeepAlive = keepAlive }],
            },
            "test").Backends[0];
}
