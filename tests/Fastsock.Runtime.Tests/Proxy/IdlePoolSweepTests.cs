using System.Net;
using System.Text.Json;
using Fastsock.Tests.Samples;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The sweep of idle backend connections ticks on the worker's timer wheel: while it runs once a second until an idle
/// connection expires, the proxy process's .NET thread pool (admin stats <c>threadPool.completedWorkItems</c>) stays
/// asleep. A sweep on <c>Task.Delay</c> ran one thread-pool work item per tick. Real nginx, fastsock-proxy as a process.
/// </summary>
public sealed class IdlePoolSweepTests : HttpProxyHarness
{
    private const int IdleTimeoutSeconds = 4;

    [Fact]
    public async Task Sweeping_an_idle_backend_connection_until_it_expires_runs_no_thread_pool_work_items()
    {
        var nginx = await StartNginxAsync();
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "nginx", "address": "127.0.0.1:{{nginx.Port}}" } ],
                              "keepAlive": { "idleTimeout": "{{IdleTimeoutSeconds}}s" } } ] }
            """);
        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web")))
        {
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(200, (await client.ReadResponseAsync()).Status); // the backend connection goes back idle
        }

        var before = await StatsAsync(admin);
        Assert.Equal(0, Connections(before).GetProperty("closedIdleTimeout").GetInt64());

        // At least IdleTimeoutSeconds sweeps run before one finds the connection expired.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var after = before;
        while (Connections(after).GetProperty("closedIdleTimeout").GetInt64() == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The idle backend connection was not closed within 60 s.");
            await Task.Delay(100);
            after = await StatsAsync(admin);
        }

        long workItems = WorkItems(after) - WorkItems(before);
        Assert.True(workItems <= 1, $"The proxy ran {workItems} thread-pool work items while {IdleTimeoutSeconds}+ sweeps ran (at most 1 expected).");
    }

    private static async Task<JsonElement> StatsAsync(RawHttpClient admin) =>
        JsonDocument.Parse((await GetAsync(admin, "/stats?format=json")).Body).RootElement.Clone();

    private static long WorkItems(JsonElement stats) => stats.GetProperty("threadPool").GetProperty("completedWorkItems").GetInt64();

    private static JsonElement Connections(JsonElement stats) =>
        stats.GetProperty("backends")[0].GetProperty("servers")[0].GetProperty("connections");
}
