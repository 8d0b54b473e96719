using System.Net;
using System.Text.RegularExpressions;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// Errors on live traffic take a server DOWN before the active check would, the active check brings it back, idle
/// pooled connections of a DOWN server are closed, and failures are logged in aggregate, not one line per request.
/// </summary>
public sealed partial class PassiveHealthTests : HttpProxyHarness
{
    [Fact]
    public async Task Refused_connects_on_live_traffic_mark_a_server_down_at_once_and_the_active_check_brings_it_back()
    {
        var ok = await StartNginxAsync("ok");
        // Refused until nginx takes the port over: held (bound, not listening) so nothing else can get it meanwhile.
        var laterHold = LoopbackPorts.Refusing();
        int laterPort = laterHold.Port;
        // fall 1000: the active check alone would not take it down during the test; rise 1 to come back fast.
        var (proxy, front, admin) = await StartProxyWithAdminAsync($$"""
            [ { "name": "later", "address": "127.0.0.1:{{laterPort}}" }, { "name": "ok", "address": "127.0.0.1:{{ok.Port}}" } ],
            "healthCheck": { "type": "tcp", "interval": "200ms", "rise": 1, "fall": 100 }, "observe": { "errorLimit": 2 }
            """);

        await GetAllOkAsync(front, 10);
        await proxy.WaitForLineAsync("errors in a row on live traffic");
        Assert.Equal("DOWN", (await RedispatchTests.ServerStatsAsync(admin, "later")).GetProperty("status").GetString());

        laterHold.Dispose();
        var later = await StartNginxAsync("later", laterPort);
        await proxy.WaitForLineAsync("later (127.0.0.1:" + laterPort + ") is UP after 1 good checks");
        await GetAllOkAsync(front, 10);
        Assert.NotEmpty(await later.LoggedConnectionsAsync(1));
    }

    [Fact]
    public async Task Idle_pooled_connections_to_a_server_that_goes_down_are_closed()
    {
        var a = await StartNginxAsync("a");
        var b = await StartNginxAsync("b");
        var (proxy, front, admin) = await StartProxyWithAdminAsync($$"""
            [ { "name": "a", "address": "127.0.0.1:{{a.Port}}" }, { "name": "b", "address": "127.0.0.1:{{b.Port}}" } ],
            "healthCheck": { "type": "http", "path": "/big", "interval": "200ms", "rise": 1, "fall": 1 }
            """);
        await GetAllOkAsync(front, 4);
        Assert.True(await RedispatchTests.EventuallyAsync(async () => Idle(await RedispatchTests.ServerStatsAsync(admin, "a")) >= 1));

        File.Delete(Path.Combine(a.Directory, "www", "big")); // its check now gets 404: DOWN, while nginx keeps the connection open
        await proxy.WaitForLineAsync("Server b/a");
        Assert.True(await RedispatchTests.EventuallyAsync(async () => Idle(await RedispatchTests.ServerStatsAsync(admin, "a")) == 0),
            "the idle connection to the DOWN server was kept");
        Assert.True(Idle(await RedispatchTests.ServerStatsAsync(admin, "b")) >= 1, "the UP server's idle connection was closed too");
    }

    [Fact]
    public async Task A_burst_of_failures_is_logged_as_at_most_one_line_per_second_that_counts_them_all()
    {
        var ok = await StartNginxAsync("ok");
        using var refusing = LoopbackPorts.Refusing();
        int refused = refusing.Port;
        var (proxy, front, _) = await StartProxyWithAdminAsync($$"""[ { "name": "gone", "address": "127.0.0.1:{{refused}}" }, { "name": "ok", "address": "127.0.0.1:{{ok.Port}}" } ]""");

        var started = DateTime.UtcNow;
        const int Requests = 200;
        await GetAllOkAsync(front, Requests);
        var elapsed = DateTime.UtcNow - started;
        // The last counts are logged a second after the burst.
        await proxy.WaitForLineAsync("failed exchanges");
        var expected = Requests / 2;
        Assert.True(await RedispatchTests.EventuallyAsync(() => Task.FromResult(CountedRefusals(proxy.Stdout) == expected)),
            $"the aggregated lines counted {CountedRefusals(proxy.Stdout)} refusals, not {expected}:\n{proxy.Stdout}");
        int lines = FailureLine().Count(proxy.Stdout);
        Assert.InRange(lines, 1, (int)Math.Ceiling(elapsed.TotalSeconds) + 2);
        Assert.DoesNotContain("connect to server gone failed", proxy.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Log_level_debug_still_shows_each_failed_connect()
    {
        var ok = await StartNginxAsync("ok");
        using var refusing = LoopbackPorts.Refusing();
        int refused = refusing.Port;
        var (proxy, front, _) = await StartProxyWithAdminAsync(
            $$"""[ { "name": "gone", "address": "127.0.0.1:{{refused}}" }, { "name": "ok", "address": "127.0.0.1:{{ok.Port}}" } ]""", arguments: "--log-level Debug");

        await GetAllOkAsync(front, 4);
        await proxy.WaitForLineAsync("connect to server gone failed");
    }

    private static long Idle(System.Text.Json.JsonElement server) => server.GetProperty("connections").GetProperty("idle").GetInt64();

    private static int CountedRefusals(string log)
    {
        int total = 0;
        foreach (Match match in FailureLine().Matches(log))
        {
            total += int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        return total;
    }

    [GeneratedRegex(@"Server b/gone \(127\.0\.0\.1:\d+\): failed exchanges: (\d+) connect refused[ ;]")]
    private static partial Regex FailureLine();

    private static async Task GetAllOkAsync(IPEndPoint front, int requests)
    {
        using var client = await Samples.RawHttpClient.ConnectAsync(front);
        for (int i = 0; i < requests; i++)
        {
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        }
    }
}
