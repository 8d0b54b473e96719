namespace Fastsock.Tests.Proxy;

/// <summary>
/// A config duration longer than a BCL timer takes (about 49.7 days) is a valid timeout, and where it reaches one of
/// the proxy's BCL timers (<c>timeouts.connect</c>'s CancelAfter) it means "wait", not an exception: handed over as it
/// was, CancelAfter threw ArgumentOutOfRangeException on every connect, which counted as a connect failure of every
/// server and answered 502. A real fastsock-proxy process in front of nginx.
/// </summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class LongTimerTimeoutTests : HttpProxyHarness
{
    [Fact]
    public async Task A_connect_timeout_longer_than_a_bcl_timer_takes_still_lets_the_proxy_reach_its_server()
    {
        var nginx = await StartNginxAsync();
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{nginx.Port}}" } ] } ],
              "timeouts": { "connect": "2000h", "server": "10s", "httpRequest": "10s" }, "retries": 0 }
            """);
        var endPoint = await proxy.ListeningOnAsync("frontend");

        var response = await ExchangeUntilCloseAsync(endPoint, "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.EndsWith("Hello", response, StringComparison.Ordinal);
    }
}
