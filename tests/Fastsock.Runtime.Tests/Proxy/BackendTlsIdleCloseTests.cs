using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// An idle pooled TLS connection that its server closed is seen as closed while it waits in the pool, as a plain one
/// is: the next request gets a new connection instead of being sent on the dead one and replayed. Real nginx with
/// <c>ssl</c> and a 1 s <c>keepalive_timeout</c>, fastsock-proxy as a process.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class BackendTlsIdleCloseTests : IDisposable
{
    private readonly BackendTlsTestBed _bed = new("fastsock-tlsidle-");

    public void Dispose() => _bed.Dispose();

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_pooled_tls_connection_the_server_closed_is_dropped_before_the_next_request(string cores)
    {
        var nginx = await StartNginxAsync();
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "nginx", "address": "127.0.0.1:{{nginx.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test", "handshakeTimeout": "60s" } } ],
                              "keepAlive": { "idleTimeout": "5m" } } ] }
            """, cores);
        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        var first = await BackendTlsTestBed.GetAsync(client);
        Assert.True(first.Status == 200, $"{first.Status} {first.Body}: {proxy.Stdout}{proxy.Stderr}");

        // nginx closes the idle connection after 1 s; the pool's sweep (once a second) or the next take must see it.
        var closed = await AdminStatsTests.PollJsonAsync(admin, s => Connections(s).GetProperty("closedByServer").GetInt64() == 1);
        Assert.True(Connections(closed).GetProperty("closedByServer").GetInt64() == 1, $"{Connections(closed)}");

        var second = await BackendTlsTestBed.GetAsync(client);
        Assert.Equal(200, second.Status);
        var after = await AdminStatsTests.PollJsonAsync(admin, s => Connections(s).GetProperty("opened").GetInt64() == 2);
        Assert.Equal(0, Connections(after).GetProperty("reused").GetInt64()); // the dead connection was never sent a request
    }

    private static JsonElement Connections(JsonElement stats) =>
        stats.GetProperty("backends")[0].GetProperty("servers")[0].GetProperty("connections");

    private async Task<NginxTlsServer> StartNginxAsync()
    {
        using var certificate = _bed.Ca.Issue(["backend.test"]);
        var (cert, key) = TestCertificates.WritePem(certificate, _bed.Dir, "nginx");
        var nginx = await LoopbackPorts.StartPeerAsync(port =>
            NginxTlsServer.StartAsync(Path.Combine(_bed.Dir, "nginx"), port, cert, key, serverDirectives: "keepalive_timeout 1s;"));
        _bed.Owned.Add(nginx);
        return nginx;
    }
}
