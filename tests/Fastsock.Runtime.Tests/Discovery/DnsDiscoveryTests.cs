using System.Diagnostics;
using System.Net;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Discovery;
using Fastsock.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Fastsock.Tests.Discovery;

/// <summary>The resolver on its own, against a real dnsmasq whose records change during the test.</summary>
[Trait("Category", "Slow")] // a real nameserver process: skip with --filter Category!=Slow
public sealed class DnsDiscoveryTests : IAsyncLifetime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-dns-").FullName;
    private readonly RecordingLogger _log = new();
    private readonly Lock _gate = new();
    private readonly List<(IReadOnlyList<ServerSettings> Servers, long At)> _applied = [];
    private DnsmasqServer _dns = null!;

    public async Task InitializeAsync() => _dns = await DnsmasqServer.StartAsync(_dir, [("127.0.0.2", "web.test"), ("127.0.0.3", "web.test")]);

    public Task DisposeAsync()
    {
        _dns.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private IReadOnlyList<ServerSettings> LastApplied
    {
        get
        {
            lock (_gate)
            {
                return _applied.Count == 0 ? [] : _applied[^1].Servers;
            }
        }
    }

    private int AppliedCount
    {
        get
        {
            lock (_gate)
            {
                return _applied.Count;
            }
        }
    }

    private static string[] Addresses(IReadOnlyList<ServerSettings> servers) => [.. servers.Select(s => s.Address.ToString())];

    /// <summary>The resolver for one backend ("app") with <paramref name="fixedServers"/> and one DNS server per address, every <see cref="Interval"/>.</summary>
    private async Task<DnsDiscovery> StartAsync(IReadOnlyList<ServerSettings> fixedServers, params string[] dnsAddresses)
    {
        var discovery = new DnsDiscovery(Settings(fixedServers, 2, dnsAddresses), _ => servers =>
        {
            lock (_gate)
            {
                _applied.Add((servers, Stopwatch.GetTimestamp()));
            }
        }, _log);
        await discovery.StartAsync();
        return discovery;
    }

    private ProxySettings Settings(IReadOnlyList<ServerSettings> fixedServers, int weight, params string[] dnsAddresses)
    {
        var templates = dnsAddresses.Select((a, i) => new DnsServerTemplate(
            $"d{i}",
            a.StartsWith("srv:", StringComparison.Ordinal)
                ? new DnsServerQuery(DnsQueryKind.Service, a[4..], 0)
                : new DnsServerQuery(DnsQueryKind.Address, a[4..a.LastIndexOf(':')], int.Parse(a[(a.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture)),
            weight,
            ProxyHeaderMode.None,
            Interval)).ToList();
        var backend = new BackendSettings("app", BalanceAlgorithm.RoundRobin, fixedServers, null, -1, TimeSpan.FromSeconds(30), null, templates);
        return new ProxySettings(null, Fastsock.Locality.ListenerSteering.Cpu, "auto", default, null!, 0, null, [], [backend],
            Resolvers: new ResolverSettings([_dns.EndPoint], TimeSpan.FromMilliseconds(300), 0));
    }

    [Fact]
    public async Task A_records_become_servers_on_the_port_named_after_the_config_server_and_their_address()
    {
        await using var discovery = await StartAsync([], "dns:web.test:8080");

        Assert.Equal(["127.0.0.2:8080", "127.0.0.3:8080"], Addresses(LastApplied));
        Assert.Equal(["d0@127.0.0.2:8080", "d0@127.0.0.3:8080"], LastApplied.Select(s => s.Name));
        Assert.All(LastApplied, s => Assert.Equal(2, s.Weight));
        Assert.Equal(1, _log.Count(LogLevel.Information, "dns:web.test:8080 resolved to 2 servers: 127.0.0.2:8080, 127.0.0.3:8080"));
    }

    [Fact]
    public async Task Aaaa_records_are_servers_too_and_fixed_servers_come_first()
    {
        await _dns.SetHostsAsync([("127.0.0.2", "web.test"), ("::1", "web.test")]);
        var fixedServer = new ServerSettings("fixed", new ServerAddress(ServerKind.Tcp, IPEndPoint.Parse("127.0.0.9:1"), null), 1, ProxyHeaderMode.None);

        await using var discovery = await StartAsync([fixedServer], "dns:web.test:80");

        Assert.Equal(["127.0.0.9:1", "127.0.0.2:80", "[::1]:80"], Addresses(LastApplied));
    }

    [Fact]
    public async Task Srv_records_of_the_lowest_priority_become_servers_with_their_ports_and_weights()
    {
        await _dns.SetHostsAsync([("127.0.0.2", "a.test"), ("127.0.0.3", "b.test"), ("127.0.0.4", "backup.test")]);
        await _dns.SetSrvRecordsAsync(["_http._tcp.svc.test,a.test,8081,0,10", "_http._tcp.svc.test,b.test,8082,0,0", "_http._tcp.svc.test,backup.test,8083,1,50"]);

        await using var discovery = await StartAsync([], "srv:_http._tcp.svc.test");

        Assert.Equal(["127.0.0.2:8081", "127.0.0.3:8082"], Addresses(LastApplied));
        Assert.Equal([10, 1], LastApplied.Select(s => s.Weight)); // SRV weight 0 means "rarely", not "never"
    }

    [Fact]
    public async Task Srv_target_without_an_address_in_the_answer_is_looked_up()
    {
        // An SRV target outside the hosts file gets no additional record; its CNAME-free address comes from a query of its own.
        await _dns.SetSrvRecordsAsync(["_db._tcp.svc.test,web.test,5432,0,1"]);

        await using var discovery = await StartAsync([], "srv:_db._tcp.svc.test");

        Assert.Equal(["127.0.0.2:5432", "127.0.0.3:5432"], Addresses(LastApplied));
    }

    [Fact]
    public async Task Records_added_removed_and_changed_are_followed_within_one_interval()
    {
        await using var discovery = await StartAsync([], "dns:web.test:8080");
        var backend = discovery.Backends[0];
        Assert.Equal(["127.0.0.2:8080", "127.0.0.3:8080"], Addresses(LastApplied));

        // Added, then removed, then changed: each new set is published at the next resolution after dnsmasq serves it.
        string[][] steps =
        [
            ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
            ["127.0.0.3", "127.0.0.4"],
            ["127.0.0.5", "127.0.0.4"],
        ];
        foreach (var step in steps)
        {
            int before = AppliedCount;
            await _dns.SetHostsAsync(step.Select(a => (a, "web.test")));
            long served = Stopwatch.GetTimestamp();
            var expected = step.Order().Select(a => $"{a}:8080").ToArray();
            await Eventually.AssertAsync(() => Addresses(LastApplied).SequenceEqual(expected), () => $"applied {string.Join(", ", Addresses(LastApplied))}, expected {string.Join(", ", expected)}");

            // At most one interval plus the nameserver's round trip, with 1.5 s of slack for a loaded machine: a resolver
            // that cached the answer, resolved only at start or on the 10 s default would miss this by far.
            long at;
            lock (_gate)
            {
                at = _applied[^1].At;
            }

            var delay = Stopwatch.GetElapsedTime(served, at);
            Assert.True(delay < Interval + TimeSpan.FromMilliseconds(1500), $"the change reached the pool {delay.TotalMilliseconds:F0} ms after dnsmasq served it; the interval is {Interval.TotalMilliseconds} ms");
            Assert.Equal(before + 1, AppliedCount); // one change, one new set: an unchanged answer publishes nothing
        }

        Assert.Equal(["d0@127.0.0.4:8080", "d0@127.0.0.5:8080"], LastApplied.Select(s => s.Name));
        Assert.Equal(0, backend.Watches[0].FailuresInARow);
    }

    [Fact]
    public async Task A_name_whose_records_are_all_removed_leaves_no_servers_from_it()
    {
        await using var discovery = await StartAsync([], "dns:web.test:8080");

        await _dns.SetHostsAsync([]);

        await Eventually.AssertAsync(() => LastApplied.Count == 0, () => $"still applied: {string.Join(", ", Addresses(LastApplied))}");
        Assert.Equal(0, _log.Count(LogLevel.Warning, "failed")); // NXDOMAIN is an answer, not a failure
    }

    [Fact]
    public async Task A_dns_outage_keeps_the_last_good_servers_and_logs_one_line_per_failure_streak()
    {
        await using var discovery = await StartAsync([], "dns:web.test:8080");
        var backend = discovery.Backends[0];
        var good = LastApplied;
        int applied = AppliedCount;

        _dns.Stop();
        await Eventually.AssertAsync(() => backend.Watches[0].FailuresInARow >= 3, () => $"failures in a row: {backend.Watches[0].FailuresInARow}; log: {_log}");

        Assert.Equal(applied, AppliedCount);
        Assert.Same(good, backend.Servers);
        Assert.Equal(1, _log.Count(LogLevel.Warning, "resolving dns:web.test:8080 failed"));
        Assert.Contains("keeping its last 2 servers", _log.ToString(), StringComparison.Ordinal);

        // Back with a changed record: followed, and the recovery logged once.
        await _dns.RestartAsync();
        await _dns.SetHostsAsync([("127.0.0.6", "web.test")]);
        await Eventually.AssertAsync(() => Addresses(LastApplied).SequenceEqual(["127.0.0.6:8080"]), () => $"applied {string.Join(", ", Addresses(LastApplied))}; log: {_log}");
        Assert.Equal(1, _log.Count(LogLevel.Information, "dns:web.test:8080 answers again after"));

        // A second outage is a new streak: one more line.
        _dns.Stop();
        await Eventually.AssertAsync(() => backend.Watches[0].FailuresInARow >= 2, () => $"failures in a row: {backend.Watches[0].FailuresInARow}");
        Assert.Equal(2, _log.Count(LogLevel.Warning, "resolving dns:web.test:8080 failed"));
        Assert.Equal(["127.0.0.6:8080"], Addresses(LastApplied));
    }

    [Fact]
    public async Task A_name_that_fails_at_start_starts_with_no_servers_and_is_asked_again()
    {
        _dns.Stop();
        await using var discovery = await StartAsync([], "dns:web.test:8080");
        var backend = discovery.Backends[0];
        Assert.Equal(0, AppliedCount);
        Assert.Equal(1, backend.Watches[0].FailuresInARow);

        await _dns.RestartAsync();

        await Eventually.AssertAsync(() => LastApplied.Count == 2, () => $"applied: {string.Join(", ", Addresses(LastApplied))}; log: {_log}");
    }

    [Fact]
    public async Task A_config_reload_keeps_the_answers_of_names_still_configured_with_their_new_settings()
    {
        await using var discovery = await StartAsync([], "dns:web.test:8080");
        var fixedServer = new ServerSettings("fixed", new ServerAddress(ServerKind.Tcp, IPEndPoint.Parse("127.0.0.9:1"), null), 1, ProxyHeaderMode.None);
        var next = Settings([fixedServer], 5, "dns:web.test:8080", "dns:other.test:81");
        BackendSettings? applied = null;

        await discovery.ReloadAsync(next, withDnsServers =>
        {
            applied = withDnsServers(next.Backends[0]);
            return Task.FromResult(0);
        });

        // At once, without asking again: the fixed server, then d0's last answer with its new weight; d1 has none yet.
        Assert.Equal(["127.0.0.9:1", "127.0.0.2:8080", "127.0.0.3:8080"], Addresses(applied!.Servers));
        Assert.Equal([1, 5, 5], applied.Servers.Select(s => s.Weight));

        // The names of the new settings are resolved, and followed.
        await _dns.SetHostsAsync([("127.0.0.4", "web.test"), ("127.0.0.5", "other.test")]);
        await Eventually.AssertAsync(
            () => Addresses(LastApplied).SequenceEqual(["127.0.0.9:1", "127.0.0.4:8080", "127.0.0.5:81"]),
            () => $"applied {string.Join(", ", Addresses(LastApplied))}; log: {_log}");
    }
}
