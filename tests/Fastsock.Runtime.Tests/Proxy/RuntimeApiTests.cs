using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using static Fastsock.Tests.Proxy.AdminStatsTests;
using static Fastsock.Tests.Proxy.ConfigReloadTests;
using static Fastsock.Tests.Proxy.TaggedBackend;

namespace Fastsock.Tests.Proxy;

/// <summary>The admin endpoint's runtime API (weight, drain, maint, ready) on a real fastsock-proxy in front of real backends.</summary>
[Trait("Category", "Slow")] // real processes: skip with --filter Category!=Slow
public sealed class RuntimeApiTests : IDisposable
{
    private readonly ConfigReloadTests _proxies = new();

    public void Dispose() => _proxies.Dispose();

    private static async Task<RawHttpResponse> PostAsync(RawHttpClient admin, string target)
    {
        await admin.SendAsync($"POST {target} HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n\r\n");
        return await admin.ReadResponseAsync();
    }

    private System.Net.IPEndPoint? _web;
    private SampleProcess? _proxy;

    private async Task<(RawHttpClient Client, RawHttpClient Admin)> StartAsync(TaggedBackend a, TaggedBackend b)
    {
        var proxy = _proxy = await _proxies.StartAsync(Config($"{ServerJson(a)}, {ServerJson(b)}"), CoreSets.FirstText);
        _web = await proxy.ListeningOnAsync("frontend web");
        return (await RawHttpClient.ConnectAsync(_web), await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin")));
    }

    private static async Task<JsonElement> StatsAsync(RawHttpClient admin) =>
        JsonDocument.Parse((await GetAsync(admin, "/stats?format=json")).Body).RootElement.Clone();

    [Fact]
    public async Task Bad_requests_are_answered_400_404_or_405_and_change_nothing()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var (client, admin) = await StartAsync(a, b);
        using (client)
        using (admin)
        {
            Assert.Equal(404, (await PostAsync(admin, "/servers/nope/a/weight?value=2")).Status);
            Assert.Equal(404, (await PostAsync(admin, "/servers/app/nope/state?value=drain")).Status);
            Assert.Equal(404, (await PostAsync(admin, "/servers/app/a/colour?value=red")).Status);
            Assert.Equal(400, (await PostAsync(admin, "/servers/app/a/weight?value=x")).Status);
            Assert.Equal(400, (await PostAsync(admin, "/servers/app/a/weight?value=257")).Status);
            Assert.Equal(400, (await PostAsync(admin, "/servers/app/a/weight")).Status);
            var badState = await PostAsync(admin, "/servers/app/a/state?value=sleep");
            Assert.Equal(400, badState.Status);
            Assert.Contains("not one of ready, drain, maint", badState.Body, StringComparison.Ordinal);
            Assert.Equal(405, (await GetAsync(admin, "/servers/app/a/weight?value=2")).Status);

            var stats = await StatsAsync(admin);
            foreach (var name in new[] { "a", "b" })
            {
                Assert.Equal(1, Server(stats, "app", name).GetProperty("weight").GetInt32());
                Assert.Equal("ready", Server(stats, "app", name).GetProperty("admin").GetString());
            }

            var split = await TallyAsync(client, 20);
            Assert.Equal((10, 10), (split["a"], split["b"]));
        }
    }

    [Fact]
    public async Task Drain_lets_a_request_in_flight_finish_and_sends_no_new_ones_until_ready()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var (client, admin) = await StartAsync(a, b);
        using (client)
        using (admin)
        {
            await client.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
            var slow = await Task.WhenAny(a.SlowArrived, b.SlowArrived).WaitAsync(Clients.Timeout);
            var (busy, other) = slow == a.SlowArrived ? (a, b) : (b, a);

            var drained = await PostAsync(admin, $"/servers/app/{busy.Tag}/state?value=drain");
            Assert.Equal(200, drained.Status);
            Assert.Equal($"app/{busy.Tag}: state drain (was ready)", drained.Body.Trim());
            Assert.Equal("drain", Server(await StatsAsync(admin), "app", busy.Tag).GetProperty("admin").GetString());

            using (var second = await RawHttpClient.ConnectAsync(_web!))
            {
                Assert.Equal(10, (await TallyAsync(second, 10))[other.Tag]);
            }

            busy.ReleaseSlow();
            var finished = await client.ReadResponseAsync();
            Assert.Equal((200, busy.Tag), (finished.Status, finished.Body));
            Assert.Equal(10, (await TallyAsync(client, 10))[other.Tag]);

            Assert.Equal(200, (await PostAsync(admin, $"/servers/app/{busy.Tag}/state?value=ready")).Status);
            Assert.Contains(busy.Tag, (await TallyAsync(client, 4)).Keys);
        }
    }

    [Fact]
    public async Task Maint_takes_a_server_out_and_closes_its_idle_pooled_connections()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var (client, admin) = await StartAsync(a, b);
        using (client)
        using (admin)
        {
            var split = await TallyAsync(client, 10);
            Assert.Equal((5, 5), (split["a"], split["b"]));
            Assert.Equal(0, a.ClosedByProxy);

            Assert.Equal(200, (await PostAsync(admin, "/servers/app/a/state?value=maint")).Status);
            await Eventually.AssertAsync(() => a.ClosedByProxy == a.Accepted, () => $"a's idle connections were not closed: {a.ClosedByProxy} of {a.Accepted}");
            int servedByA = a.Requests;
            Assert.Equal(10, (await TallyAsync(client, 10))["b"]);
            Assert.Equal(servedByA, a.Requests);

            Assert.Equal(200, (await PostAsync(admin, "/servers/app/a/state?value=ready")).Status);
            Assert.Contains("a", (await TallyAsync(client, 4)).Keys);
        }
    }

    [Fact]
    public async Task A_weight_set_at_run_time_shifts_traffic_and_shows_in_the_stats()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var (client, admin) = await StartAsync(a, b);
        using (client)
        using (admin)
        {
            var set = await PostAsync(admin, "/servers/app/b/weight?value=3");
            Assert.Equal((200, "app/b: weight 3 (was 1)"), (set.Status, set.Body.Trim()));
            Assert.Equal(3, Server(await StatsAsync(admin), "app", "b").GetProperty("weight").GetInt32());

            var shifted = await TallyAsync(client, 40);
            Assert.Equal((10, 30), (shifted["a"], shifted["b"]));
        }
    }

    [Fact]
    public async Task A_weight_and_state_set_at_run_time_stay_across_a_reload_until_the_configured_weight_changes()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        await using var c = new TaggedBackend("c");
        var (client, admin) = await StartAsync(a, b);
        using (client)
        using (admin)
        {
            Assert.Equal(200, (await PostAsync(admin, "/servers/app/b/weight?value=3")).Status);
            Assert.Equal(200, (await PostAsync(admin, "/servers/app/a/state?value=drain")).Status);

            // b keeps its name, address and configured weight: the runtime API's weight stays, as a's state does.
            await _proxies.ReloadAsync(_proxy!, Config($"{ServerJson(a)}, {ServerJson(b)}, {ServerJson(c)}"));
            var kept = await StatsAsync(admin);
            Assert.Equal(3, Server(kept, "app", "b").GetProperty("weight").GetInt32());
            Assert.Equal("drain", Server(kept, "app", "a").GetProperty("admin").GetString());
            var split = await TallyAsync(client, 40);
            Assert.Equal((0, 30, 10), (split.GetValueOrDefault("a"), split["b"], split["c"]));

            // The configured weight changed: the config's new weight applies.
            await _proxies.ReloadAsync(_proxy!, Config($"{ServerJson(a)}, {ServerJson(b, weight: 2)}, {ServerJson(c)}"));
            Assert.Equal(2, Server(await StatsAsync(admin), "app", "b").GetProperty("weight").GetInt32());
        }
    }

    [Fact]
    public async Task The_runtime_api_refuses_a_peer_that_is_not_loopback_and_changes_nothing()
    {
        var address = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a));
        Assert.True(address is not null, "this test needs a non-loopback IPv4 address on the host (any interface that is up)");
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var proxy = await _proxies.StartAsync(
            Config($"{ServerJson(a)}, {ServerJson(b)}").Replace("\"admin\": { \"bind\": \"127.0.0.1:0\" }", "\"admin\": { \"bind\": \"0.0.0.0:0\" }", StringComparison.Ordinal),
            CoreSets.FirstText);
        int adminPort = (await proxy.ListeningOnAsync("admin")).Port;
        using var remote = await RawHttpClient.ConnectAsync(new System.Net.IPEndPoint(address!, adminPort));

        var refused = await PostAsync(remote, "/servers/app/a/state?value=maint");

        Assert.Equal(403, refused.Status);
        Assert.Contains("admin.remoteApi", refused.Body, StringComparison.Ordinal);
        Assert.Equal("ready", Server(await StatsAsync(remote), "app", "a").GetProperty("admin").GetString()); // the stats stay readable
        using var local = await RawHttpClient.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, adminPort));
        Assert.Equal(200, (await PostAsync(local, "/servers/app/a/state?value=maint")).Status);
    }
}
