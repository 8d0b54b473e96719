using System.Text.Json;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Tests.Discovery;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// <c>tls</c> on <c>dns:</c> and <c>srv:</c> servers: each resolved address gets the server's TLS settings, and the
/// name sent as SNI and verified is the DNS name, not the IP. A real dnsmasq answers, a real nginx with <c>ssl</c> and a
/// certificate for DNS names only (no IP) serves.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class BackendTlsDnsTests : IDisposable
{
    private readonly BackendTlsTestBed _bed = new("fastsock-tlsdns-");

    public void Dispose() => _bed.Dispose();

    [Fact]
    public void Without_sni_a_dns_server_verifies_its_name_and_an_srv_server_its_service_name()
    {
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var path = Path.Combine(_bed.Dir, "proxy.json");
        File.WriteAllText(path, $$"""
            { "resolvers": { "nameservers": ["127.0.0.1:5353"] },
              "frontends": [ { "bind": ["127.0.0.1:0"], "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [
                { "name": "a", "address": "dns:backend.test:8443", "tls": { "enabled": true, "caFile": "{{caFile}}" } },
                { "name": "s", "address": "srv:_https._tcp.svc.test", "tls": { "enabled": true, "caFile": "{{caFile}}" } },
                { "name": "n", "address": "dns:other.test:8443", "tls": { "enabled": true, "sni": "named.test", "verify": false } },
                { "name": "p", "address": "dns:plain.test:8080" } ] } ] }
            """);
        var templates = Assert.Single(ConfigLoader.Load(path).Backends).Discovered;
        Assert.Equal(["backend.test", "svc.test", "named.test"], templates.Take(3).Select(t => t.Tls!.TargetHost));
        Assert.Equal(_bed.Ca.Certificate.Thumbprint, Assert.Single(templates[0].Tls!.Options.TrustedRoots!).Thumbprint);
        Assert.False(templates[2].Tls!.Verify);
        Assert.Null(templates[3].Tls);
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Dns_and_srv_servers_reach_an_https_nginx_by_name_and_a_name_its_certificate_lacks_is_refused(string cores)
    {
        using var leaf = _bed.Ca.Issue(["backend.test", "svc.test"]);
        var (cert, key) = TestCertificates.WritePem(leaf, _bed.Dir, "nginx");
        var nginx = await LoopbackPorts.StartPeerAsync(port => NginxTlsServer.StartAsync(Path.Combine(_bed.Dir, "nginx"), port, cert, key));
        _bed.Owned.Add(nginx);
        var dns = await DnsmasqServer.StartAsync(
            _bed.Dir,
            [("127.0.0.1", "backend.test"), ("127.0.0.1", "node1.test"), ("127.0.0.1", "wrong.test")],
            [$"_https._tcp.svc.test,node1.test,{nginx.Port},0,1"]);
        _bed.Owned.Add(dns);
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var path = Path.Combine(_bed.Dir, "proxy.json");
        await File.WriteAllTextAsync(path, $$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 0, "resolvers": {{dns.ResolversJson}},
              "frontends": [ { "name": "byname", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "d" },
                             { "name": "bysrv", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "s" },
                             { "name": "wrong", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "w" } ],
              "backends": [ { "name": "d", "servers": [ { "name": "web", "address": "dns:backend.test:{{nginx.Port}}", "tls": { "enabled": true, "caFile": "{{caFile}}" } } ] },
                            { "name": "s", "servers": [ { "name": "svc", "address": "srv:_https._tcp.svc.test", "tls": { "enabled": true, "caFile": "{{caFile}}" } } ] },
                            { "name": "w", "servers": [ { "name": "bad", "address": "dns:wrong.test:{{nginx.Port}}", "tls": { "enabled": true, "caFile": "{{caFile}}" } } ] } ] }
            """);
        var proxy = SampleProcess.Start(BackendTlsTestBed.ProxyDll, $"--config {path} --cores {cores}");
        _bed.Owned.Add(proxy);
        await proxy.WaitForLineAsync("Press Ctrl+C");

        foreach (var frontend in new[] { "byname", "bysrv" })
        {
            using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync($"frontend {frontend}"));
            var response = await BackendTlsTestBed.GetAsync(client);
            Assert.True((response.Status, response.Body) == (200, "Hello"), $"{frontend}: {response.Status} {response.Body}: {proxy.Stdout}{proxy.Stderr}");
        }

        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend wrong")))
        {
            Assert.Equal(502, (await BackendTlsTestBed.GetAsync(client)).Status);
        }

        // The resolved server's name says which address it is; the name verified is the DNS name.
        var line = $"Server bad@127.0.0.1:{nginx.Port}: TLS handshake failed (name mismatch): TLS to wrong.test (127.0.0.1:{nginx.Port}) failed: certificate name mismatch: expected wrong.test";
        await Eventually.AssertAsync(() => (proxy.Stdout + proxy.Stderr).Contains(line, StringComparison.Ordinal), () => $"no log line '{line}': {proxy.Stdout}{proxy.Stderr}");
        int Plaintext() => nginx.AccessLog().Count(l => l.Contains("GET /plaintext", StringComparison.Ordinal));
        await Eventually.AssertAsync(() => Plaintext() >= 2, () => $"nginx logged {string.Join(" | ", nginx.AccessLog())}"); // logged after the response
        Assert.Equal(2, Plaintext());

        // Each resolved server has its own client TLS counters on the admin endpoint.
        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await AdminStatsTests.PollJsonAsync(admin, s => Handshakes(s, $"web@127.0.0.1:{nginx.Port}") == 1 && Handshakes(s, $"svc@127.0.0.1:{nginx.Port}") == 1);
        Assert.Equal(1, Handshakes(json, $"web@127.0.0.1:{nginx.Port}"));
        Assert.Equal(1, Handshakes(json, $"svc@127.0.0.1:{nginx.Port}"));
        Assert.Equal(1, json.GetProperty("tlsServers").EnumerateArray()
            .Where(r => r.GetProperty("server").GetString() == $"bad@127.0.0.1:{nginx.Port}")
            .Sum(r => r.GetProperty("failures").GetProperty("nameMismatch").GetInt64()));
    }

    private static long Handshakes(JsonElement stats, string server) =>
        stats.TryGetProperty("tlsServers", out var rows)
            ? rows.EnumerateArray().Where(r => r.GetProperty("server").GetString() == server).Sum(r => r.GetProperty("handshakes").GetInt64())
            : 0;
}
