using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using static Fastsock.Tests.Proxy.AdminStatsTests;
using static Fastsock.Tests.Proxy.TaggedBackend;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// <c>kill -HUP</c> on a real fastsock-proxy in front of real backends: what changes, what stays (pooled connections,
/// counters), what an invalid file does, and <c>--check</c>.
/// </summary>
[Trait("Category", "Slow")] // real processes: skip with --filter Category!=Slow
public sealed class ConfigReloadTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-reload-").FullName;
    private readonly List<SampleProcess> _processes = [];

    private string ConfigPath => Path.Combine(_dir, "proxy.json");

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    internal static string ServerJson(TaggedBackend backend, int weight = 1) =>
        $$"""{ "name": "{{backend.Tag}}", "address": "127.0.0.1:{{backend.Port}}", "weight": {{weight}} }""";

    internal static string Config(string servers, string frontends = """[ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "app" } ]""") =>
        $$"""{ "frontends": {{frontends}}, "backends": [ { "name": "app", "servers": [ {{servers}} ] } ], "admin": { "bind": "127.0.0.1:0" } }""";

    internal async Task<SampleProcess> StartAsync(string json, string cores)
    {
        await File.WriteAllTextAsync(ConfigPath, json);
        var proxy = SampleProcess.Start(ProxyDll, $"--config {ConfigPath} --cores {cores}");
        _processes.Add(proxy);
        await proxy.WaitForLineAsync("Press Ctrl+C");
        return proxy;
    }

    /// <summary>Writes <paramref name="json"/>, sends SIGHUP and waits for one more <paramref name="outcome"/> line.</summary>
    internal async Task ReloadAsync(SampleProcess proxy, string json, string outcome = "Reloaded ")
    {
        int before = Occurrences(proxy.Stdout, outcome);
        await File.WriteAllTextAsync(ConfigPath, json);
        proxy.Signal("HUP");
        await Eventually.AssertAsync(() => Occurrences(proxy.Stdout, outcome) > before, () => $"no new '{outcome}' line after SIGHUP. stdout: {proxy.Stdout}");
    }

    private static int Occurrences(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task An_invalid_config_on_sighup_is_logged_and_the_running_config_keeps_serving_with_its_counters_unchanged()
    {
        await using var a = new TaggedBackend("a");
        var proxy = await StartAsync(Config(ServerJson(a)), CoreSets.FirstText);
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        Assert.Equal(5, (await TallyAsync(client, 5))["a"]);
        using var stats = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var before = await PollJsonAsync(stats, s => Server(s, "app", "a").GetProperty("http").GetProperty("responses2xx").GetInt64() == 5);

        await ReloadAsync(proxy, Config(ServerJson(a, weight: 999)), outcome: "Reload rejected");

        Assert.Contains($"still serving the previous config: {ConfigPath}: backends[0].servers[0].weight:", proxy.Stdout, StringComparison.Ordinal);
        var after = JsonDocument.Parse((await GetAsync(stats, "/stats?format=json")).Body).RootElement;
        Assert.Equal(before.GetProperty("frontends").GetRawText(), after.GetProperty("frontends").GetRawText());
        Assert.Equal(before.GetProperty("backends").GetRawText(), after.GetProperty("backends").GetRawText());
        Assert.Equal(1, Server(after, "app", "a").GetProperty("weight").GetInt32());
        Assert.Equal(5, (await TallyAsync(client, 5))["a"]);
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_sighup_that_changes_weights_shifts_the_traffic_of_a_connected_client(string cores)
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var proxy = await StartAsync(Config($"{ServerJson(a)}, {ServerJson(b)}"), cores);
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        var even = await TallyAsync(client, 40);
        Assert.Equal((20, 20), (even["a"], even["b"]));

        await ReloadAsync(proxy, Config($"{ServerJson(a, weight: 3)}, {ServerJson(b)}"));

        var shifted = await TallyAsync(client, 40);
        Assert.Equal((30, 10), (shifted["a"], shifted["b"]));
    }

    [Fact]
    public async Task A_server_added_by_reload_gets_traffic_and_a_removed_one_gets_none_and_loses_its_idle_connections()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var proxy = await StartAsync(Config(ServerJson(a)), CoreSets.FirstText);
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        Assert.Equal(10, (await TallyAsync(client, 10))["a"]);

        await ReloadAsync(proxy, Config($"{ServerJson(a)}, {ServerJson(b)}"));
        Assert.Contains("+server app/b", proxy.Stdout, StringComparison.Ordinal);
        var both = await TallyAsync(client, 20);
        Assert.Equal((10, 10), (both["a"], both["b"]));

        await ReloadAsync(proxy, Config(ServerJson(b)));
        Assert.Contains("-server app/a", proxy.Stdout, StringComparison.Ordinal);
        int servedByA = a.Requests;
        Assert.Equal(10, (await TallyAsync(client, 10))["b"]);
        Assert.Equal(servedByA, a.Requests);
        await Eventually.AssertAsync(
            () => a.ClosedByProxy == a.Accepted,
            () => $"the removed server's idle connections were not closed: {a.ClosedByProxy} of {a.Accepted}");
    }

    [Fact]
    public async Task Servers_unchanged_by_a_reload_keep_their_pooled_backend_connections()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var proxy = await StartAsync(Config(ServerJson(a)), CoreSets.FirstText);
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        Assert.Equal(10, (await TallyAsync(client, 10))["a"]);
        Assert.Equal(1, a.Accepted);

        // a's weight changes and b joins with weight 0: every request still goes to a, on the connection it had.
        await ReloadAsync(proxy, Config($"{ServerJson(a, weight: 2)}, {ServerJson(b, weight: 0)}"));

        Assert.Equal(10, (await TallyAsync(client, 10))["a"]);
        Assert.Equal(1, a.Accepted);
        Assert.Equal(0, a.ClosedByProxy);
        using var stats = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await PollJsonAsync(stats, s => Server(s, "app", "a").GetProperty("http").GetProperty("responses2xx").GetInt64() == 20);
        Assert.Equal(1, Server(json, "app", "a").GetProperty("connections").GetProperty("opened").GetInt64());
        Assert.Equal(2, Server(json, "app", "a").GetProperty("weight").GetInt32());
    }

    [Fact]
    public async Task A_frontend_added_by_reload_answers_and_a_removed_one_refuses_new_connections_while_its_request_in_flight_completes()
    {
        await using var a = new TaggedBackend("a");
        const string Web1 = """[ { "name": "web1", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "app" } ]""";
        const string Web2 = """[ { "name": "web2", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "app" } ]""";
        var proxy = await StartAsync(Config(ServerJson(a), Web1), CoreSets.FirstText);
        var web1 = await proxy.ListeningOnAsync("frontend web1");
        using var inFlight = await RawHttpClient.ConnectAsync(web1);
        await inFlight.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        await a.SlowArrived.WaitAsync(Clients.Timeout);

        await ReloadAsync(proxy, Config(ServerJson(a), Web2));

        var refused = await Assert.ThrowsAsync<SocketException>(async () => (await RawHttpClient.ConnectAsync(web1)).Dispose());
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web2")))
        {
            Assert.Equal("a", await TagOfAsync(client));
        }

        a.ReleaseSlow();
        var response = await inFlight.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("a", response.Body);
    }

    [Fact]
    public async Task Check_exits_0_for_a_valid_config_and_2_with_the_key_for_an_invalid_one()
    {
        await using var a = new TaggedBackend("a");
        await File.WriteAllTextAsync(ConfigPath, Config(ServerJson(a)));
        using (var valid = SampleProcess.Start(ProxyDll, $"--check --config {ConfigPath}"))
        {
            Assert.Equal(0, await valid.WaitForExitAsync(Clients.Timeout));
            Assert.Contains($"config {ConfigPath} is valid", valid.Stdout, StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(ConfigPath, Config(ServerJson(a, weight: -1)));
        using var invalid = SampleProcess.Start(ProxyDll, $"--check --config {ConfigPath}");
        Assert.Equal(2, await invalid.WaitForExitAsync(Clients.Timeout));
        Assert.Contains($"{ConfigPath}: backends[0].servers[0].weight:", invalid.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, a.Accepted); // checked, not started
    }

    [Fact]
    public async Task A_reload_that_changes_a_restart_only_key_says_so_in_one_line_and_applies_the_rest()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        var proxy = await StartAsync(Config(ServerJson(a)), CoreSets.FirstText);
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        Assert.Equal(4, (await TallyAsync(client, 4))["a"]);

        var withHashSteering = Config($"{ServerJson(a)}, {ServerJson(b)}").Replace("\"admin\":", "\"steering\": \"hash\", \"forwarding\": \"copy\", \"admin\":", StringComparison.Ordinal);
        await ReloadAsync(proxy, withHashSteering);

        // A takeover refuses another steering (the hand-over matches it), so only a restart applies that one.
        Assert.Contains("Reload: steering (apply with a restart), forwarding (apply with a restart or --takeover) changed; the rest is applied", proxy.Stdout, StringComparison.Ordinal);
        var both = await TallyAsync(client, 4);
        Assert.Equal((2, 2), (both["a"], both["b"]));
    }

    [Fact]
    public async Task A_proxy_started_with_sighup_ignored_as_under_nohup_still_reloads_on_sighup()
    {
        await using var a = new TaggedBackend("a");
        await using var b = new TaggedBackend("b");
        await File.WriteAllTextAsync(ConfigPath, Config(ServerJson(a)));
        // nohup and some supervisors start programs with SIGHUP ignored; .NET keeps an inherited ignore unless asked.
        var proxy = SampleProcess.StartProgram("bash", ["-c", "trap '' HUP; exec \"$0\" \"$@\"", SampleProcess.DotnetHost, ProxyDll, "--config", ConfigPath, "--cores", CoreSets.FirstText]);
        _processes.Add(proxy);
        await proxy.WaitForLineAsync("Press Ctrl+C");
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        Assert.Equal(4, (await TallyAsync(client, 4))["a"]);

        await ReloadAsync(proxy, Config($"{ServerJson(a)}, {ServerJson(b)}"));

        var both = await TallyAsync(client, 4);
        Assert.Equal((2, 2), (both["a"], both["b"]));
    }
}
