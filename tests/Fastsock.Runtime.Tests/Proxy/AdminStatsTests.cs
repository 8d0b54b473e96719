using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Samples.Proxy.Stats;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>fastsock-proxy as a process with <c>admin.bind</c>: /stats (HTML, JSON) and /metrics count what went through.</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed partial class AdminStatsTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-admin-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Stats_count_the_sessions_and_bytes_of_requests_through_the_in_process_hello_backend()
    {
        using var proxy = await StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "web<1>", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "hello" } ],
              "backends": [ { "name": "hello", "servers": [ { "name": "h&1", "address": "inproc:hello" } ] } ] }
            """);
        int port = (await proxy.ListeningOnAsync("frontend web<1>")).Port;
        int adminPort = (await proxy.ListeningOnAsync("admin")).Port;
        const int Requests = 3;
        for (int i = 0; i < Requests; i++)
        {
            using var client = await RawHttpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
            Assert.True(await client.IsClosedByServerAsync());
        }

        using var admin = await RawHttpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, adminPort));
        var json = await PollJsonAsync(admin, stats => Frontend(stats, "web<1>").GetProperty("current").GetInt64() == 0);
        var frontend = Frontend(json, "web<1>");
        Assert.Equal(Requests, frontend.GetProperty("sessions").GetInt64());
        Assert.Equal(Requests, frontend.GetProperty("inProcess").GetInt64());
        Assert.True(frontend.GetProperty("bytesIn").GetInt64() > 0);
        Assert.True(frontend.GetProperty("bytesOut").GetInt64() > frontend.GetProperty("bytesIn").GetInt64() / 2);
        var server = Server(json, "hello", "h&1");
        Assert.Equal("UP", server.GetProperty("status").GetString());
        Assert.Equal(Requests, server.GetProperty("sessions").GetInt64());
        Assert.Equal(frontend.GetProperty("bytesOut").GetInt64(), server.GetProperty("bytesOut").GetInt64());
        var worker = json.GetProperty("workers")[0];
        Assert.True(worker.GetProperty("accepted").GetInt64() >= Requests);
        Assert.Equal(Requests, worker.GetProperty("proxy").GetProperty("sessions").GetInt64());
        Assert.Equal(0, json.GetProperty("unobservedTaskExceptions").GetInt64()); // no task of a normal run faults unseen

        // The same connection, kept alive: the HTML page and the Prometheus text.
        var html = await GetAsync(admin, "/stats");
        Assert.Equal("text/html; charset=utf-8", html.Header("Content-Type"));
        Assert.Contains("<table id=\"frontends\">", html.Body, StringComparison.Ordinal);
        Assert.Contains("web&lt;1&gt;", html.Body, StringComparison.Ordinal);
        Assert.Contains("h&amp;1", html.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("web<1>", html.Body, StringComparison.Ordinal);
        Assert.Contains("<td class=\"UP\">UP", html.Body, StringComparison.Ordinal);

        var metrics = ParseMetrics((await GetAsync(admin, "/metrics")).Body);
        Assert.Equal(Requests, metrics["fastsock_proxy_frontend_sessions_total{frontend=\"web<1>\"}"]);
        Assert.Equal(Requests, metrics["fastsock_proxy_server_sessions_total{backend=\"hello\",server=\"h&1\"}"]);
        Assert.Equal(1, metrics["fastsock_proxy_server_up{backend=\"hello\",server=\"h&1\"}"]);
        Assert.True(metrics["fastsock_proxy_frontend_bytes_out_total{frontend=\"web<1>\"}"] > 0);
        Assert.True(metrics[$"fastsock_worker_connections_accepted_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\"}}"] >= Requests);
        double local = metrics[$"fastsock_worker_locality_local_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\",direction=\"passive\"}}"];
        double remote = metrics[$"fastsock_worker_locality_remote_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\",direction=\"passive\"}}"];
        Assert.True(local + remote >= Requests, $"locality local {local} + remote {remote} < {Requests}");
        Assert.Contains($"fastsock_worker_bytes_spliced_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\"}}", metrics.Keys);
        Assert.Contains($"fastsock_worker_bytes_copied_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\"}}", metrics.Keys);
        Assert.Contains($"fastsock_worker_locality_local_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\",direction=\"outbound\"}}", metrics.Keys);
        Assert.Equal(0, metrics["fastsock_proxy_unobserved_task_exceptions_total"]);

        Assert.Equal(404, (await GetAsync(admin, "/nothing-here")).Status);
        Assert.Equal(200, (await GetAsync(admin, "/stats?format=json")).Status); // still open after a 404
    }

    [Fact]
    public async Task Stats_show_a_tcp_backend_up_with_its_bytes_and_a_checked_closed_port_down()
    {
        using var echo = new Socket(SocketType.Stream, ProtocolType.Tcp);
        echo.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        echo.Listen();
        _ = EchoLoopAsync(echo);
        int echoPort = ((IPEndPoint)echo.LocalEndPoint!).Port;
        using var gone = LoopbackPorts.Refusing();
        using var proxy = await StartProxyAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 0,
              "frontends": [ { "name": "echo", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "echo" },
                             { "name": "dead", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "dead" } ],
              "backends": [ { "name": "echo", "servers": [ { "name": "e1", "address": "127.0.0.1:{{echoPort}}" } ] },
                            { "name": "dead", "servers": [ { "name": "gone", "address": "127.0.0.1:{{gone.Port}}" } ],
                              "healthCheck": { "type": "tcp", "interval": "100ms", "fall": 1 } } ] }
            """);
        int port = (await proxy.ListeningOnAsync("frontend echo")).Port;
        int deadPort = (await proxy.ListeningOnAsync("frontend dead")).Port;
        int adminPort = (await proxy.ListeningOnAsync("admin")).Port;
        var payload = Encoding.ASCII.GetBytes("ping through the proxy");
        using (var client = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            await client.SendAsync(payload);
            var back = new byte[payload.Length];
            int got = 0;
            while (got < back.Length)
            {
                got += await client.ReceiveAsync(back.AsMemory(got));
            }

            Assert.Equal(payload, back);
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, await client.ReceiveAsync(back.AsMemory()));
        }

        await proxy.WaitForLineAsync("is DOWN");
        using (var refused = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await refused.ConnectAsync(new IPEndPoint(IPAddress.Loopback, deadPort));
            Assert.Equal(0, await refused.ReceiveAsync(new byte[16].AsMemory()));
        }

        using var admin = await RawHttpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, adminPort));
        var json = await PollJsonAsync(admin, stats => Server(stats, "echo", "e1").GetProperty("current").GetInt64() == 0);
        var server = Server(json, "echo", "e1");
        Assert.Equal("UP", server.GetProperty("status").GetString());
        Assert.Equal(1, server.GetProperty("sessions").GetInt64());
        Assert.Equal(payload.Length, server.GetProperty("bytesIn").GetInt64());
        Assert.Equal(payload.Length, server.GetProperty("bytesOut").GetInt64());
        Assert.Equal(0, server.GetProperty("inProcess").GetInt64());
        Assert.Equal("DOWN", Server(json, "dead", "gone").GetProperty("status").GetString());
        Assert.Equal(1, Frontend(json, "dead").GetProperty("noServer").GetInt64());
        Assert.True(json.GetProperty("workers")[0].GetProperty("connected").GetInt64() >= 1);

        Assert.Contains("<td class=\"DOWN\">DOWN", (await GetAsync(admin, "/stats")).Body, StringComparison.Ordinal);
        var metrics = ParseMetrics((await GetAsync(admin, "/metrics")).Body);
        Assert.Equal(0, metrics["fastsock_proxy_server_up{backend=\"dead\",server=\"gone\"}"]);
        Assert.Equal(1, metrics["fastsock_proxy_server_up{backend=\"echo\",server=\"e1\"}"]);
        Assert.Equal(0, metrics["fastsock_proxy_backend_servers_up{backend=\"dead\"}"]);
        Assert.Equal(1, metrics["fastsock_proxy_frontend_no_server_total{frontend=\"dead\"}"]);
        Assert.Equal(2 * payload.Length, metrics["fastsock_proxy_backend_bytes_in_total{backend=\"echo\"}"] + metrics["fastsock_proxy_backend_bytes_out_total{backend=\"echo\"}"]);
        Assert.True(metrics[$"fastsock_worker_bytes_spliced_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\"}}"] + metrics[$"fastsock_worker_bytes_copied_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\"}}"] >= 2 * payload.Length);
    }

    [Fact]
    public void Counters_written_by_two_workers_sum_per_frontend_server_and_worker()
    {
        var config = new ProxyConfig
        {
            Frontends = [new FrontendConfig { Name = "f", Bind = ["127.0.0.1:1"], Mode = "tcp", Backend = "b" }],
            Backends = [new BackendConfig { Name = "b", Servers = [new ServerConfig { Name = "s0", Address = "127.0.0.1:2" }, new ServerConfig { Name = "s1", Address = "inproc:hello" }] }],
        };
        var settings = ConfigValidator.Validate(config, "test");
        var pool = new BackendPool(settings.Backends[0], 2);
        var counters = new ProxyCounters(settings, workerCount: 2);
        var f = counters.For(settings.Frontends[0]);
        f.SessionStarted(0);
        f.ConnectFailed(0, pool.Servers[0], willRetry: true);
        f.ServerConnected(0, pool.Servers[1]);
        f.Forwarded(0, pool.Servers[1], new Fastsock.Transport.ForwardResult(10, 20, Fastsock.Transport.ForwardingMode.Copy, null));
        f.SessionEnded(0);
        f.SessionStarted(1);
        f.NoServer(1);
        f.SessionEnded(1);
        f.SessionStarted(1); // still open

        var snapshot = counters.Snapshot();
        Assert.Equal(new SessionTotals(3, 1, 10, 20, 1, 1, 1, 1), snapshot.Frontends[0].Totals);
        Assert.Equal(new SessionTotals(0, 0, 0, 0, 1, 1, 0, 0), snapshot.Server("b", 0));
        Assert.Equal(new SessionTotals(1, 0, 10, 20, 0, 0, 0, 1), snapshot.Server("b", 1));
        Assert.Equal(1, snapshot.Workers[0].Sessions);
        Assert.Equal(2, snapshot.Workers[1].Sessions);
        Assert.Equal(1, snapshot.Workers[1].Current);
    }

    [GeneratedRegex("""^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? -?[0-9]+(?:\.[0-9]+)?$""")]
    private static partial Regex SampleLine();

    /// <summary>Every line is a HELP/TYPE comment or a <c>name{labels} value</c> sample; returns the samples by series.</summary>
    internal static Dictionary<string, double> ParseMetrics(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                Assert.Matches("^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (counter|gauge))$", line);
                continue;
            }

            Assert.Matches(SampleLine(), line);
            int space = line.LastIndexOf(' ');
            Assert.True(samples.TryAdd(line[..space], double.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture)), $"duplicate series: {line}");
        }

        return samples;
    }

    internal static JsonElement Frontend(JsonElement stats, string name) =>
        stats.GetProperty("frontends").EnumerateArray().Single(f => f.GetProperty("name").GetString() == name);

    internal static JsonElement Server(JsonElement stats, string backend, string name) =>
        stats.GetProperty("backends").EnumerateArray().Single(b => b.GetProperty("name").GetString() == backend)
            .GetProperty("servers").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    /// <summary>A session's counters close just after the client sees the close: poll until <paramref name="settled"/>.</summary>
    /// <remarks>If it never settles, the last answer is returned for the caller's asserts to show.</remarks>
    internal static async Task<JsonElement> PollJsonAsync(RawHttpClient admin, Func<JsonElement, bool> settled)
    {
        JsonElement json = default;
        await Eventually.HoldsAsync(async () =>
        {
            var response = await GetAsync(admin, "/stats?format=json");
            Assert.Equal("application/json", response.Header("Content-Type"));
            json = JsonDocument.Parse(response.Body).RootElement.Clone();
            return settled(json);
        });
        return json;
    }

    internal static async Task<RawHttpResponse> GetAsync(RawHttpClient client, string target)
    {
        await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: admin\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    private async Task<SampleProcess> StartProxyAsync(string json)
    {
        var path = Path.Combine(_dir, "proxy.json");
        await File.WriteAllTextAsync(path, json);
        var proxy = SampleProcess.Start(ProxyDll, $"--config {path} --cores {CoreSets.FirstText}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        Assert.Contains("Admin listening on http://127.0.0.1:", proxy.Stdout, StringComparison.Ordinal);
        return proxy;
    }

    private static async Task EchoLoopAsync(Socket listener)
    {
        try
        {
            while (true)
            {
                var peer = await listener.AcceptAsync();
                _ = Task.Run(async () =>
                {
                    using (peer)
                    {
                        var buffer = new byte[4096];
                        int n;
                        while ((n = await peer.ReceiveAsync(buffer.AsMemory())) > 0)
                        {
                            await peer.SendAsync(buffer.AsMemory(0, n));
                        }

                        peer.Shutdown(SocketShutdown.Send);
                    }
                });
            }
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
    }
}
