using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The proxy resumes its TLS sessions to a server that closes after each response (nginx <c>keepalive_timeout 0</c>,
/// so each request opens a new connection) and shows how many resumed beside its handshakes, per server per worker:
/// JSON (<c>tlsServers[].resumed</c>) and /metrics (<c>fastsock_tls_client_resumed_handshakes_total</c>). nginx's
/// <c>$ssl_session_reused</c> says the same from the server's side.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers
public sealed class BackendTlsResumptionTests : IDisposable
{
    private const int Requests = 4;

    private readonly BackendTlsTestBed _bed = new("fastsock-tlsresume-");

    public void Dispose() => _bed.Dispose();

    public static TheoryData<string, string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add(cores, "TLSv1.3", "");
                data.Add(cores, "TLSv1.2", "");
                data.Add(cores, "TLSv1.2", "ssl_session_tickets off; ssl_session_cache shared:ids:1m;");
                data.Add(cores, "TLSv1.2 TLSv1.3", "ssl_session_tickets off; ssl_session_cache off;");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task New_connections_to_a_tls_server_resume_its_session_unless_it_refuses_and_the_admin_endpoint_counts_them(string cores, string protocols, string sessions)
    {
        bool refused = sessions.Contains("cache off", StringComparison.Ordinal);
        using var leaf = _bed.Ca.Issue(["backend.test"]);
        var (cert, key) = Transport.Tls.TestCertificates.WritePem(leaf, _bed.Dir, "backend");
        var nginx = await LoopbackPorts.StartPeerAsync(port => NginxTlsServer.StartAsync(Path.Combine(_bed.Dir, "nginx"), port, cert, key,
            protocols: protocols, serverDirectives: $"keepalive_timeout 0; {sessions}", logResumption: true));
        _bed.Owned.Add(nginx);
        var caFile = _bed.Ca.WritePem(_bed.Dir);
        var proxy = await _bed.StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 0,
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "tls", "address": "127.0.0.1:{{nginx.Port}}",
                              "tls": { "enabled": true, "caFile": "{{caFile}}", "sni": "backend.test", "handshakeTimeout": "60s" } } ] } ] }
            """, cores);

        var frontend = await proxy.ListeningOnAsync("frontend web");
        for (int i = 0; i < Requests; i++)
        {
            // A client connection per request: the server's Connection: close may be passed on to the client.
            using var client = await RawHttpClient.ConnectAsync(frontend);
            var response = await BackendTlsTestBed.GetAsync(client);
            Assert.True(response.Status == 200, $"{response.Status} {response.Body}: {proxy.Stdout}{proxy.Stderr}");
        }

        await Eventually.AssertAsync(() => nginx.ResumptionLog().Length == Requests, () => $"nginx logged {string.Join(" | ", nginx.ResumptionLog())}");
        var reused = nginx.ResumptionLog().Select(line => line.Split(' ')[1]).ToArray();
        Assert.Equal(refused ? [".", ".", ".", "."] : [".", "r", "r", "r"], reused);

        using var admin = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await AdminStatsTests.PollJsonAsync(admin, s => Sum(Rows(s), "handshakes") == Requests);
        var rows = Rows(json);
        Assert.Equal(Fastsock.Locality.CpuSet.Parse(cores).Count, rows.Length); // a row per worker
        long resumed = refused ? 0 : Requests - 1;
        Assert.Equal(resumed, Sum(rows, "resumed"));
        Assert.Equal(reused.Count(r => r == "r"), Sum(rows, "resumed"));
        Assert.Equal(Requests, Sum(rows, protocols == "TLSv1.2" ? "tls12" : "tls13"));

        var metrics = AdminStatsTests.ParseMetrics((await AdminStatsTests.GetAsync(admin, "/metrics")).Body);
        var series = metrics.Where(m => m.Key.StartsWith("fastsock_tls_client_resumed_handshakes_total{backend=\"b\",server=\"tls\",worker=", StringComparison.Ordinal)).ToArray();
        Assert.Equal(rows.Length, series.Length);
        Assert.Equal(resumed, series.Sum(m => m.Value));
    }

    private static JsonElement[] Rows(JsonElement stats) =>
        stats.TryGetProperty("tlsServers", out var rows) ? [.. rows.EnumerateArray().Where(r => r.GetProperty("server").GetString() == "tls")] : [];

    private static long Sum(JsonElement[] rows, string name) => rows.Sum(r => r.GetProperty(name).GetInt64());
}
