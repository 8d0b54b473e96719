using System.Net;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>http frontends in the admin stats: sessions, requests, responses by class, the proxy's own errors.</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpStatsTests : HttpProxyHarness
{
    [Fact]
    public async Task Requests_through_an_http_frontend_are_counted_per_frontend_server_and_worker()
    {
        var nginx = await StartNginxAsync();
        var (proxy, web, admin) = await StartAsync($$"""
            "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
            "backends": [ { "name": "b", "servers": [ { "name": "nginx", "address": "127.0.0.1:{{nginx.Port}}" } ] } ]
            """);
        const int Requests = 5;
        using (var client = await RawHttpClient.ConnectAsync(web[0]))
        {
            for (int i = 0; i < Requests; i++)
            {
                await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
                Assert.Equal("Hello", (await client.ReadResponseAsync()).Body);
            }

            await client.SendAsync("GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            Assert.Equal(404, (await client.ReadResponseAsync()).Status);
        }

        using var stats = await RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(stats, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0);
        var frontend = Frontend(json, "web");
        Assert.Equal("http", frontend.GetProperty("mode").GetString());
        Assert.Equal(1, frontend.GetProperty("sessions").GetInt64());
        var http = frontend.GetProperty("http");
        Assert.Equal(Requests + 1, http.GetProperty("requests").GetInt64());
        Assert.Equal(Requests, http.GetProperty("responses2xx").GetInt64());
        Assert.Equal(1, http.GetProperty("responses4xx").GetInt64());
        Assert.Equal(0, http.GetProperty("proxyErrors502").GetInt64());
        Assert.True(frontend.GetProperty("bytesIn").GetInt64() >= (Requests + 1) * "GET /plaintext HTTP/1.1\r\n".Length);
        Assert.True(frontend.GetProperty("bytesOut").GetInt64() > Requests * "HTTP/1.1 200 OK\r\n".Length);
        var server = Server(json, "b", "nginx");
        Assert.Equal(Requests + 1, server.GetProperty("sessions").GetInt64());
        Assert.Equal(0, server.GetProperty("current").GetInt64());
        Assert.Equal(Requests, server.GetProperty("http").GetProperty("responses2xx").GetInt64());
        Assert.Equal(frontend.GetProperty("bytesOut").GetInt64(), server.GetProperty("bytesOut").GetInt64());
        Assert.Equal(Requests + 1, json.GetProperty("workers")[0].GetProperty("proxy").GetProperty("http").GetProperty("requests").GetInt64());

        var html = await GetAsync(stats, "/stats");
        Assert.Contains(">responses2xx</th>", html.Body, StringComparison.Ordinal);
        var metrics = ParseMetrics((await GetAsync(stats, "/metrics")).Body);
        Assert.Equal(Requests + 1, metrics["fastsock_proxy_frontend_http_requests_total{frontend=\"web\"}"]);
        Assert.Equal(Requests, metrics["fastsock_proxy_frontend_http_responses_total{frontend=\"web\",code=\"2xx\"}"]);
        Assert.Equal(1, metrics["fastsock_proxy_frontend_http_responses_total{frontend=\"web\",code=\"4xx\"}"]);
        Assert.Equal(Requests, metrics["fastsock_proxy_server_http_responses_total{backend=\"b\",server=\"nginx\",code=\"2xx\"}"]);
        Assert.Equal(Requests, metrics["fastsock_proxy_backend_http_responses_total{backend=\"b\",code=\"2xx\"}"]);
        Assert.Equal(Requests, metrics[$"fastsock_proxy_worker_http_responses_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\",code=\"2xx\"}}"]);
        Assert.Equal(0, metrics["fastsock_proxy_frontend_http_proxy_errors_total{frontend=\"web\",status=\"502\"}"]);
        Assert.Equal(1, metrics["fastsock_proxy_frontend_sessions_total{frontend=\"web\"}"]);
        GC.KeepAlive(proxy);
    }

    [Fact]
    public async Task Answers_the_proxy_makes_itself_are_counted_as_proxy_errors_by_status()
    {
        var (proxy, web, admin) = await StartAsync($$"""
            "frontends": [ { "name": "refused", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "closed" },
                           { "name": "down", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "down" } ],
            "backends": [ { "name": "closed", "servers": [ { "name": "gone", "address": "127.0.0.1:{{RefusingPort()}}" } ] },
                          { "name": "down", "servers": [ { "name": "dead", "address": "127.0.0.1:{{RefusingPort()}}" } ],
                            "healthCheck": { "type": "tcp", "interval": "100ms", "fall": 1 } } ]
            """);
        await proxy.WaitForLineAsync("is DOWN");
        Assert.StartsWith("HTTP/1.1 502 ", await ExchangeUntilCloseAsync(web[0], "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 503 ", await ExchangeUntilCloseAsync(web[1], "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", await ExchangeUntilCloseAsync(web[1], "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), StringComparison.Ordinal);

        using var stats = await RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(stats, s => Frontend(s, "down").GetProperty("current").GetInt64() == 0);
        var refused = Frontend(json, "refused");
        Assert.Equal(1, refused.GetProperty("http").GetProperty("proxyErrors502").GetInt64());
        Assert.Equal(1, refused.GetProperty("http").GetProperty("responses5xx").GetInt64());
        Assert.Equal(2, refused.GetProperty("connectErrors").GetInt64()); // one retry
        var down = Frontend(json, "down");
        Assert.Equal(1, down.GetProperty("http").GetProperty("proxyErrors503").GetInt64());
        Assert.Equal(1, down.GetProperty("http").GetProperty("proxyErrors400").GetInt64());
        Assert.Equal(1, down.GetProperty("noServer").GetInt64());
        Assert.Equal(2, down.GetProperty("http").GetProperty("requests").GetInt64());
        var metrics = ParseMetrics((await GetAsync(stats, "/metrics")).Body);
        Assert.Equal(1, metrics["fastsock_proxy_frontend_http_proxy_errors_total{frontend=\"refused\",status=\"502\"}"]);
        Assert.Equal(1, metrics["fastsock_proxy_frontend_http_proxy_errors_total{frontend=\"down\",status=\"503\"}"]);
        Assert.Contains("fastsock_proxy_frontend_http_client_aborts_total{frontend=\"down\"}", metrics.Keys);
    }

    /// <summary>Starts the proxy with an admin listener; returns the frontends' first binds and the admin address.</summary>
    internal async Task<(SampleProcess Proxy, IPEndPoint[] Frontends, IPEndPoint Admin)> StartAsync(string frontendsAndBackends, string more = "")
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 1,
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "1s" },
              {{more}}
              {{frontendsAndBackends}} }
            """);
        var names = System.Text.RegularExpressions.Regex.Matches(frontendsAndBackends, "\"name\": \"(\\w+)\", \"bind\"").Select(m => m.Groups[1].Value).ToArray();
        var binds = new IPEndPoint[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            binds[i] = await proxy.ListeningOnAsync($"frontend {names[i]}");
        }

        return (proxy, binds, await proxy.ListeningOnAsync("admin"));
    }
}
