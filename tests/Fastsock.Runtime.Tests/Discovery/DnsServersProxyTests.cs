using System.Net;
using System.Text.Json;
using Fastsock.Tests.Proxy;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Discovery;

/// <summary>
/// fastsock-proxy with a <c>dns:</c> server, in front of backends on 127.0.0.2-5, asking a real dnsmasq whose records
/// change while traffic flows: seen through the responses (which backend answered) and the stats JSON.
/// </summary>
[Trait("Category", "Slow")] // real processes: skip with --filter Category!=Slow
public sealed class DnsServersProxyTests : IAsyncLifetime
{
    private const string Interval = "500ms";
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");

    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-dns-proxy-").FullName;
    private IdentityBackends _backends = null!;
    private DnsmasqServer _dns = null!;

    public async Task InitializeAsync()
    {
        _backends = IdentityBackends.Start("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5");
        _dns = await DnsmasqServer.StartAsync(_dir, [("127.0.0.2", "web.test"), ("127.0.0.3", "web.test")]);
    }

    public async Task DisposeAsync()
    {
        _dns.Dispose();
        await _backends.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    public static TheoryData<string> Workers => CoreSets.OneAndTwoWorkers;

    [Theory]
    [MemberData(nameof(Workers))]
    public async Task Traffic_follows_records_added_removed_and_changed_and_keeps_flowing_through_a_dns_outage(string cores)
    {
        using var proxy = await StartProxyAsync(cores);
        var frontend = await proxy.ListeningOnAsync("frontend web");
        var admin = await proxy.ListeningOnAsync("admin");

        // At start: both records, both backends get traffic.
        await AssertServersAsync(admin, "127.0.0.2", "127.0.0.3");
        await AssertReachedAsync(frontend, "127.0.0.2", "127.0.0.3");

        // Added: the new backend gets traffic without a reload.
        await _dns.SetHostsAsync([("127.0.0.2", "web.test"), ("127.0.0.3", "web.test"), ("127.0.0.4", "web.test")]);
        await AssertServersAsync(admin, "127.0.0.2", "127.0.0.3", "127.0.0.4");
        await AssertReachedAsync(frontend, "127.0.0.4");

        // Removed: once the stats show the new set, the removed backend gets no more requests.
        await _dns.SetHostsAsync([("127.0.0.3", "web.test"), ("127.0.0.4", "web.test")]);
        await AssertServersAsync(admin, "127.0.0.3", "127.0.0.4");
        await AssertOnlyAsync(frontend, "127.0.0.3", "127.0.0.4");

        // Changed: 127.0.0.3 becomes 127.0.0.5.
        await _dns.SetHostsAsync([("127.0.0.5", "web.test"), ("127.0.0.4", "web.test")]);
        await AssertServersAsync(admin, "127.0.0.4", "127.0.0.5");
        await AssertReachedAsync(frontend, "127.0.0.5");
        await AssertOnlyAsync(frontend, "127.0.0.4", "127.0.0.5");

        // Outage: the last good set stays, traffic keeps flowing, one line for the whole streak.
        _dns.Stop();
        await proxy.WaitForLineAsync("resolving dns:web.test");
        await AssertOnlyAsync(frontend, "127.0.0.4", "127.0.0.5");
        await AssertServersAsync(admin, "127.0.0.4", "127.0.0.5");
        Assert.Equal(1, Count(proxy.Stdout, $"resolving dns:web.test:{_backends.Port} failed"));

        // Back: the nameserver is followed again.
        await _dns.RestartAsync();
        await _dns.SetHostsAsync([("127.0.0.2", "web.test")]);
        await AssertServersAsync(admin, "127.0.0.2");
        await AssertOnlyAsync(frontend, "127.0.0.2");
        Assert.Equal(1, Count(proxy.Stdout, $"resolving dns:web.test:{_backends.Port} failed"));
        Assert.Contains($"dns:web.test:{_backends.Port} answers again", proxy.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Srv_records_give_servers_with_their_own_ports_and_weights()
    {
        await _dns.SetHostsAsync([("127.0.0.2", "a.test"), ("127.0.0.3", "b.test")]);
        await _dns.SetSrvRecordsAsync([$"_http._tcp.svc.test,a.test,{_backends.Port},0,3", $"_http._tcp.svc.test,b.test,{_backends.Port},0,1"]);
        using var proxy = await StartProxyAsync(CoreSets.FirstText, "srv:_http._tcp.svc.test");
        var admin = await proxy.ListeningOnAsync("admin");

        var servers = await AssertServersAsync(admin, "127.0.0.2", "127.0.0.3");
        Assert.Equal([3, 1], servers.Select(s => s.GetProperty("weight").GetInt32()));
        await AssertReachedAsync(await proxy.ListeningOnAsync("frontend web"), "127.0.0.2", "127.0.0.3");

        // An SRV change (dnsmasq restarted with other records on the same port) is followed too.
        await _dns.SetSrvRecordsAsync([$"_http._tcp.svc.test,b.test,{_backends.Port},0,5"]);
        servers = await AssertServersAsync(admin, "127.0.0.3");
        Assert.Equal(5, servers[0].GetProperty("weight").GetInt32());
    }

    [Fact]
    public async Task A_config_reload_keeps_the_resolved_servers_and_dns_changes_are_followed_after_it()
    {
        using var proxy = await StartProxyAsync(CoreSets.FirstText);
        var frontend = await proxy.ListeningOnAsync("frontend web");
        var admin = await proxy.ListeningOnAsync("admin");
        await AssertServersAsync(admin, "127.0.0.2", "127.0.0.3");

        // A fixed server added by a reload joins the resolved ones; none of those is dropped, even for a moment.
        await WriteConfigAsync(null, $$""", { "name": "fixed", "address": "127.0.0.5:{{_backends.Port}}" }""");
        proxy.Signal("HUP");
        await proxy.WaitForLineAsync("Reloaded");
        var reloaded = proxy.Stdout.Split('\n').Single(l => l.Contains("Reloaded", StringComparison.Ordinal));
        Assert.Contains("+server app/fixed", reloaded, StringComparison.Ordinal);
        Assert.DoesNotContain("-server", reloaded, StringComparison.Ordinal);
        Assert.Equal(["127.0.0.2", "127.0.0.3", "127.0.0.5"], StatsServers(admin).Select(s => s.GetProperty("address").GetString()!.Split(':')[0]).Order());
        await AssertReachedAsync(frontend, "127.0.0.2", "127.0.0.3", "127.0.0.5");

        // The name is still followed after the reload.
        await _dns.SetHostsAsync([("127.0.0.4", "web.test")]);
        await AssertServersAsync(admin, "127.0.0.4", "127.0.0.5");
        await AssertOnlyAsync(frontend, "127.0.0.4", "127.0.0.5");
    }

    private async Task<string> WriteConfigAsync(string? address, string moreServers = "")
    {
        var path = Path.Combine(_dir, "proxy.json");
        await File.WriteAllTextAsync(path, $$"""
            { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "app" } ],
              "admin": { "bind": "127.0.0.1:0" },
              "resolvers": {{_dns.ResolversJson}},
              "backends": [ { "name": "app", "resolveInterval": "{{Interval}}",
                              "servers": [ { "name": "web", "address": "{{address ?? $"dns:web.test:{_backends.Port}"}}" }{{moreServers}} ] } ] }
            """);
        return path;
    }

    private async Task<SampleProcess> StartProxyAsync(string cores, string? address = null)
    {
        var path = await WriteConfigAsync(address);
        var proxy = SampleProcess.Start(ProxyDll, $"--config {path} --cores {cores}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        return proxy;
    }

    /// <summary>Waits until the stats list exactly the servers at <paramref name="addresses"/> (on the backends' port), named after the config server.</summary>
    private async Task<List<JsonElement>> AssertServersAsync(IPEndPoint admin, params string[] addresses)
    {
        var expected = addresses.Select(a => $"{a}:{_backends.Port}").Order().ToList();
        List<JsonElement> servers = [];
        await Eventually.AssertAsync(
            () =>
            {
                servers = StatsServers(admin);
                return servers.Select(s => s.GetProperty("address").GetString()!).Order().SequenceEqual(expected);
            },
            () => $"stats list {string.Join(", ", servers.Select(s => s.GetProperty("address").GetString()))}, expected {string.Join(", ", expected)}");
        Assert.All(servers, s => Assert.Equal(
            s.GetProperty("address").GetString()!.StartsWith("127.0.0.5:", StringComparison.Ordinal) && s.GetProperty("name").GetString() == "fixed" ? "fixed" : $"web@{s.GetProperty("address").GetString()}",
            s.GetProperty("name").GetString()));
        Assert.All(servers, s => Assert.Equal("UP", s.GetProperty("status").GetString()));
        return servers;
    }

    private static List<JsonElement> StatsServers(IPEndPoint admin)
    {
        using var client = RawHttpClient.ConnectAsync(admin).GetAwaiter().GetResult();
        var body = AdminStatsTests.GetAsync(client, "/stats?format=json").GetAwaiter().GetResult().Body;
        var backend = JsonDocument.Parse(body).RootElement.GetProperty("backends")[0];
        return [.. backend.GetProperty("servers").EnumerateArray().Select(s => s.Clone())];
    }

    /// <summary>Sends requests until every one of <paramref name="addresses"/> has answered one.</summary>
    private static async Task AssertReachedAsync(IPEndPoint frontend, params string[] addresses)
    {
        var seen = new HashSet<string>();
        await Eventually.AssertAsync(
            () =>
            {
                seen.Add(GetAsync(frontend).GetAwaiter().GetResult());
                return addresses.All(seen.Contains);
            },
            () => $"answered by {string.Join(", ", seen)}; expected {string.Join(", ", addresses)} among them");
    }

    /// <summary>Every one of 20 requests succeeds and is answered by one of <paramref name="addresses"/>.</summary>
    private static async Task AssertOnlyAsync(IPEndPoint frontend, params string[] addresses)
    {
        for (int i = 0; i < 20; i++)
        {
            Assert.Contains(await GetAsync(frontend), addresses);
        }
    }

    /// <summary>One request on a new connection; the body names the backend that answered.</summary>
    private static async Task<string> GetAsync(IPEndPoint frontend)
    {
        using var client = await RawHttpClient.ConnectAsync(frontend);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: web.test\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        return response.Body;
    }

    private static int Count(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
