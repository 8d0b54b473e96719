using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The TLS the proxy originates to its servers is counted per server per worker and shown on the admin endpoint: JSON
/// (<c>tlsServers</c>), /metrics (<c>fastsock_tls_client_*</c>) and the stats page. Real nginx servers with <c>ssl</c>.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class BackendTlsStatsTests : IDisposable
{
    private readonly BackendTlsTestBed _bed = new("fastsock-tlsstats-");

    public void Dispose() => _bed.Dispose();

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Handshakes_protocols_ciphers_and_failures_to_tls_servers_are_shown_per_server_in_json_metrics_and_page(string cores)
    {
        using var otherCa = new TestCertificateAuthority("Unknown CA");
        var good = await StartNginxAsync(_bed.Ca.Issue(["backend.test"]), "good");
        var bad = await StartNginxAsync(otherCa.Issue(["backend.test"]), "bad");
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var path = Path.Combine(_bed.Dir, "proxy.json");
        await File.WriteAllTextAsync(path, $$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 0,
              "frontends": [ { "name": "good", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "g" },
                             { "name": "bad", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "g", "servers": [ { "name": "good", "address": "127.0.0.1:{{good.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test", "handshakeTimeout": "60s" } } ] },
                            { "name": "b", "servers": [ { "name": "bad", "address": "127.0.0.1:{{bad.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test" } } ] } ] }
            """);
        // A long handshake timeout for the good server: its first handshake loads OpenSSL and compiles the client path, which
        // a loaded machine running other tests in parallel may stretch past the default 5 s (this test is about counting).
        var proxy = SampleProcess.Start(BackendTlsTestBed.ProxyDll, $"--config {path} --cores {cores}");
        _bed.Owned.Add(proxy);
        await proxy.WaitForLineAsync("Press Ctrl+C");

        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend good")))
        {
            for (int i = 0; i < 3; i++)
            {
                var response = await BackendTlsTestBed.GetAsync(client);
                Assert.True(response.Status == 200, $"{response.Status} {response.Body}: {proxy.Stdout}{proxy.Stderr}"); // one keep-alive backend connection: one handshake
            }
        }

        using (var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend bad")))
        {
            Assert.Equal(502, (await BackendTlsTestBed.GetAsync(client)).Status);
        }

        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await AdminStatsTests.PollJsonAsync(admin, s => Sum(Rows(s, "bad"), r => r.GetProperty("failures").GetProperty("untrustedRoot").GetInt64()) == 1);
        var goodRows = Rows(json, "good");
        var badRows = Rows(json, "bad");
        Assert.Equal(Fastsock.Locality.CpuSet.Parse(cores).Count, goodRows.Length); // a row per worker
        Assert.All(goodRows.Concat(badRows), r => Assert.Equal(r.GetProperty("server").GetString() == "good" ? "g" : "b", r.GetProperty("backend").GetString()));
        Assert.Equal(1, Sum(goodRows, r => r.GetProperty("handshakes").GetInt64()));
        Assert.Equal(1, Sum(goodRows, r => r.GetProperty("tls13").GetInt64())); // nginx offers 1.2 and 1.3; 1.3 wins
        Assert.Equal(1, Sum(goodRows, r => r.GetProperty("ciphers").EnumerateObject().Sum(c => c.Value.GetInt64())));
        Assert.Equal(0, Sum(goodRows, r => r.GetProperty("failures").EnumerateObject().Sum(c => c.Value.GetInt64())));
        Assert.Equal(0, Sum(badRows, r => r.GetProperty("handshakes").GetInt64()));
        Assert.Equal(1, Sum(badRows, r => r.GetProperty("failures").EnumerateObject().Sum(c => c.Value.GetInt64())));

        var metrics = AdminStatsTests.ParseMetrics((await AdminStatsTests.GetAsync(admin, "/metrics")).Body);
        double Series(string name, params string[] labels) =>
            metrics.Where(m => m.Key.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(l => m.Key.Contains(l, StringComparison.Ordinal))).Sum(m => m.Value);
        Assert.Equal(1, Series("fastsock_tls_client_handshakes_total", "backend=\"g\",server=\"good\""));
        Assert.Equal(1, Series("fastsock_tls_client_protocol_handshakes_total", "server=\"good\"", "protocol=\"TLSv1.3\""));
        Assert.Equal(1, Series("fastsock_tls_client_cipher_handshakes_total", "server=\"good\""));
        Assert.Equal(1, Series("fastsock_tls_client_handshake_failures_total", "reason=\"untrusted_root\""));
        Assert.Equal(1, Series("fastsock_tls_client_handshake_failures_total", "backend=\"b\",server=\"bad\""));

        var page = (await AdminStatsTests.GetAsync(admin, "/stats")).Body;
        Assert.Contains("<table id=\"tls-servers\">", page, StringComparison.Ordinal);
        Assert.Contains("<td class=\"name\">bad</td>", page, StringComparison.Ordinal);
    }

    private static JsonElement[] Rows(JsonElement stats, string server) =>
        stats.TryGetProperty("tlsServers", out var rows) ? [.. rows.EnumerateArray().Where(r => r.GetProperty("server").GetString() == server)] : [];

    private static long Sum(JsonElement[] rows, Func<JsonElement, long> get) => rows.Sum(get);

    private async Task<NginxTlsServer> StartNginxAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string name)
    {
        using (certificate)
        {
            var (cert, key) = TestCertificates.WritePem(certificate, _bed.Dir, name);
            var nginx = await LoopbackPorts.StartPeerAsync(port => NginxTlsServer.StartAsync(Path.Combine(_bed.Dir, name), port, cert, key));
            _bed.Owned.Add(nginx);
            return nginx;
        }
    }
}
