using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using Xunit.Abstractions;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// http mode reuses backend connections instead of churning them, as the admin stats show: opened, reused, closed by
/// reason and idle, per server. Real sockets, a real nginx or a scripted backend, fastsock-proxy on one worker.
/// </summary>
public sealed class BackendConnectionReuseTests(ITestOutputHelper output) : HttpProxyHarness, IAsyncLifetime
{
    private static readonly byte[] Request = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
    private static readonly byte[] PostHead = "POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n"u8.ToArray();
    private readonly string _nginxDir = Directory.CreateTempSubdirectory("fastsock-reuse-").FullName;
    private NginxServer? _nginx;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _nginx?.Dispose();
        Directory.Delete(_nginxDir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Five_hundred_keep_alive_clients_on_one_worker_stop_opening_backend_connections_once_the_pool_has_seen_their_peak()
    {
        const int Clients = 500;
        const int RequestsPerClient = 40; // 20,000 requests once the peak has been seen
        _nginx = await LoopbackPorts.StartPeerAsync(port => NginxServer.StartAsync(_nginxDir, port, "big"u8.ToArray(), workerConnections: 4096));
        var (web, admin) = await StartProxyWithAdminAsync(
            $$"""[ { "name": "nginx", "address": "127.0.0.1:{{_nginx.Port}}" } ]""", keepAlive: "");
        var clients = new Socket[Clients];
        try
        {
            for (int i = 0; i < Clients; i += 50)
            {
                await Task.WhenAll(Enumerable.Range(i, 50).Select(async c =>
                {
                    clients[c] = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await clients[c].ConnectAsync(web);
                }));
            }

            // The peak, made certain: every client's request holds its backend connection until its one-byte body comes.
            using var stats = await RawHttpClient.ConnectAsync(admin);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await Task.WhenAll(clients.Select(c => c.SendAsync(PostHead, SocketFlags.None)));
            var peak = await PollJsonAsync(stats, s => Nginx(s).GetProperty("current").GetInt64() == Clients);
            Assert.Equal(Clients, Nginx(peak).GetProperty("current").GetInt64());
            await Task.WhenAll(clients.Select(async c =>
            {
                await c.SendAsync("x"u8.ToArray(), SocketFlags.None);
                await ReadResponseAsync(c, new byte[4096]);
            }));
            var first = Connections(await PollJsonAsync(stats, s => Nginx(s).GetProperty("current").GetInt64() == 0));
            output.WriteLine($"peak of {Clients} requests in flight: {watch.ElapsedMilliseconds} ms; {first}");
            Assert.Equal(Clients, first.GetProperty("opened").GetInt64());

            watch.Restart();
            await Task.WhenAll(clients.Select(c => RunClientAsync(c, RequestsPerClient)));
            output.WriteLine($"{Clients * RequestsPerClient} keep-alive requests from {Clients} clients: {watch.ElapsedMilliseconds} ms");
            var json = await PollJsonAsync(stats, s => Nginx(s).GetProperty("current").GetInt64() == 0);
            var second = Connections(json);
            output.WriteLine($"after: {second}");

            long openedAgain = second.GetProperty("opened").GetInt64() - Clients;
            long reusedAgain = second.GetProperty("reused").GetInt64() - first.GetProperty("reused").GetInt64();
            Assert.True(openedAgain <= 20, $"{openedAgain} more backend connections opened for {Clients * RequestsPerClient} requests");
            Assert.True(reusedAgain >= (Clients * RequestsPerClient) - 20, $"only {reusedAgain} of {Clients * RequestsPerClient} requests on reused connections");
            Assert.Equal(0, second.GetProperty("closedPoolFull").GetInt64());
            Assert.Equal((long)Clients * (1 + RequestsPerClient), Nginx(json).GetProperty("http").GetProperty("responses2xx").GetInt64());
            Assert.Equal(second.GetProperty("open").GetInt64(), second.GetProperty("idle").GetInt64());
        }
        finally
        {
            foreach (var client in clients)
            {
                client?.Dispose();
            }
        }
    }

    [Fact]
    public async Task Backend_connections_idle_beyond_the_keep_alive_idle_timeout_are_closed_and_not_reused()
    {
        const int Concurrent = 3;
        int closedByProxy = 0;
        int heads = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async conversation =>
        {
            try
            {
                while (true)
                {
                    await conversation.ReadHeadAsync();
                    if (Interlocked.Increment(ref heads) == Concurrent)
                    {
                        allArrived.SetResult(); // the first requests wait for each other: three connections at once
                    }

                    await allArrived.Task;
                    await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                }
            }
            catch (EndOfStreamException)
            {
                Interlocked.Increment(ref closedByProxy);
                throw;
            }
        });
        var (web, admin) = await StartProxyWithAdminAsync(
            $$"""[ { "name": "raw", "address": "127.0.0.1:{{backend.Port}}" } ]""", keepAlive: """, "keepAlive": { "idleTimeout": "300ms" }""");
        await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(async _ =>
        {
            using var client = await RawHttpClient.ConnectAsync(web);
            await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        }));

        using var stats = await RawHttpClient.ConnectAsync(admin);
        var evicted = Connections(await PollJsonAsync(stats, s => Connections(s).GetProperty("closedIdleTimeout").GetInt64() == Concurrent));
        Assert.Equal(Concurrent, evicted.GetProperty("opened").GetInt64());
        Assert.Equal(Concurrent, evicted.GetProperty("closedIdleTimeout").GetInt64());
        Assert.Equal(0, evicted.GetProperty("idle").GetInt64());
        await Eventually.AssertAsync(() => Volatile.Read(ref closedByProxy) == Concurrent, () => "timed out waiting until the backend sees the proxy close its idle connections");

        using (var client = await RawHttpClient.ConnectAsync(web))
        {
            await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        }

        var after = Connections(await PollJsonAsync(stats, s => Connections(s).GetProperty("opened").GetInt64() == Concurrent + 1));
        Assert.Equal(Concurrent + 1, after.GetProperty("opened").GetInt64());
        Assert.Equal(0, after.GetProperty("reused").GetInt64());
        Assert.Equal(Concurrent + 1, backend.Accepted);
    }

    [Fact]
    public async Task A_backend_that_closes_its_idle_connections_is_noticed_and_no_request_fails_for_it()
    {
        const int Requests = 6;
        int closedByServer = 0;
        await using var backend = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); // keep-alive, as far as the proxy can tell
            conversation.Socket.Shutdown(SocketShutdown.Both);
            conversation.Dispose(); // then closed while idle, as a server with a short keepalive_timeout does
            Interlocked.Increment(ref closedByServer);
        });
        var (web, admin) = await StartProxyWithAdminAsync($$"""[ { "name": "raw", "address": "127.0.0.1:{{backend.Port}}" } ]""", keepAlive: "");
        using var stats = await RawHttpClient.ConnectAsync(admin);
        using var client = await RawHttpClient.ConnectAsync(web);
        for (int i = 1; i <= Requests; i++)
        {
            await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("ok", response.Body);
            await Eventually.AssertAsync(() => Volatile.Read(ref closedByServer) == i, () => "timed out waiting until the backend closed the connection it answered on");
        }

        // The last connection is found closed by the proxy's sweep, the earlier ones by the next request or the sweep.
        var json = await PollJsonAsync(stats, s => Connections(s).GetProperty("closed").GetInt64() == Requests);
        var connections = Connections(json);
        Assert.Equal(Requests, connections.GetProperty("opened").GetInt64());
        Assert.Equal(Requests, connections.GetProperty("closed").GetInt64());
        Assert.True(connections.GetProperty("closedByServer").GetInt64() >= 1, connections.ToString());
        Assert.Equal(0, connections.GetProperty("idle").GetInt64());
        Assert.Equal(Requests, Server(json, "b", "raw").GetProperty("http").GetProperty("responses2xx").GetInt64());
        Assert.Equal(0, Frontend(json, "web").GetProperty("http").GetProperty("proxyErrors502").GetInt64());
        Assert.Equal(Requests, backend.Accepted);
    }

    [Fact]
    public async Task Backend_connection_counters_appear_in_the_stats_json_the_html_page_and_the_metrics()
    {
        _nginx = await LoopbackPorts.StartPeerAsync(port => NginxServer.StartAsync(_nginxDir, port, "big"u8.ToArray()));
        var (web, admin) = await StartProxyWithAdminAsync(
            $$"""[ { "name": "nginx", "address": "127.0.0.1:{{_nginx.Port}}" } ]""", keepAlive: """, "keepAlive": { "maxIdlePerWorker": 1 }""");
        using (var one = await RawHttpClient.ConnectAsync(web))
        using (var two = await RawHttpClient.ConnectAsync(web))
        {
            // Two requests in flight at once need two connections; the pool keeps one of them (maxIdlePerWorker 1).
            await one.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
            await two.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal("Hello", (await one.ReadResponseAsync()).Body);
            Assert.Equal("Hello", (await two.ReadResponseAsync()).Body);
            await one.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal("Hello", (await one.ReadResponseAsync()).Body);
        }

        using var stats = await RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(stats, s => Nginx(s).GetProperty("current").GetInt64() == 0);
        var server = Connections(json);
        long opened = server.GetProperty("opened").GetInt64();
        long reused = server.GetProperty("reused").GetInt64();
        long poolFull = server.GetProperty("closedPoolFull").GetInt64();
        Assert.Equal(3, opened + reused);
        Assert.True(reused >= 1, server.ToString());
        Assert.Equal(opened - 1, poolFull); // all but the one kept idle
        Assert.Equal(1, server.GetProperty("idle").GetInt64());
        var backendTotals = json.GetProperty("backends")[0].GetProperty("connections");
        Assert.Equal(opened, backendTotals.GetProperty("opened").GetInt64());
        Assert.Equal(opened, json.GetProperty("frontends")[0].GetProperty("connections").GetProperty("opened").GetInt64());
        Assert.Equal(reused, json.GetProperty("workers")[0].GetProperty("proxy").GetProperty("connections").GetProperty("reused").GetInt64());

        var html = (await GetAsync(stats, "/stats")).Body;
        Assert.Contains(">conn opened</th>", html, StringComparison.Ordinal);
        Assert.Contains(">conn closedPoolFull</th>", html, StringComparison.Ordinal);

        var metrics = ParseMetrics((await GetAsync(stats, "/metrics")).Body);
        const string Labels = "backend=\"b\",server=\"nginx\"";
        Assert.Equal(opened, metrics[$"fastsock_proxy_server_connections_opened_total{{{Labels}}}"]);
        Assert.Equal(reused, metrics[$"fastsock_proxy_server_connections_reused_total{{{Labels}}}"]);
        Assert.Equal(poolFull, metrics[$"fastsock_proxy_server_connections_closed_total{{{Labels},reason=\"pool_full\"}}"]);
        Assert.Equal(0, metrics[$"fastsock_proxy_server_connections_closed_total{{{Labels},reason=\"idle_timeout\"}}"]);
        Assert.Equal(0, metrics[$"fastsock_proxy_server_connections_closed_total{{{Labels},reason=\"server_closed\"}}"]);
        Assert.Equal(1, metrics[$"fastsock_proxy_server_connections_idle{{{Labels}}}"]);
        Assert.Equal(1, metrics[$"fastsock_proxy_server_connections_open{{{Labels}}}"]);
        Assert.Equal(opened, metrics["fastsock_proxy_backend_connections_opened_total{backend=\"b\"}"]);
        Assert.Equal(reused, metrics[$"fastsock_proxy_worker_connections_reused_total{{worker=\"0\",cpu=\"{CoreSets.FirstCpu}\"}}"]);
    }

    private static JsonElement Nginx(JsonElement stats) => Server(stats, "b", "nginx");

    /// <summary>The backend connection counters of the only server.</summary>
    private static JsonElement Connections(JsonElement stats) =>
        stats.GetProperty("backends")[0].GetProperty("servers")[0].GetProperty("connections");

    /// <summary><paramref name="requests"/> keep-alive GETs one after the other, each response read whole.</summary>
    private static async Task RunClientAsync(Socket socket, int requests)
    {
        var buffer = new byte[4096];
        for (int i = 0; i < requests; i++)
        {
            await socket.SendAsync(Request, SocketFlags.None);
            await ReadResponseAsync(socket, buffer);
        }
    }

    /// <summary>Reads one 200 response (Content-Length framing, nothing pipelined behind it).</summary>
    private static async Task ReadResponseAsync(Socket socket, byte[] buffer)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        int filled = 0;
        int status;
        do
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("the proxy closed a keep-alive connection");
            }

            filled += n;
        }
        while (!IsComplete(buffer.AsSpan(0, filled), out status));
        Assert.Equal(200, status);
    }

    private static bool IsComplete(ReadOnlySpan<byte> received, out int status)
    {
        status = 0;
        int end = received.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return false;
        }

        status = int.Parse(received.Slice(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);
        var head = received[..end];
        int at = head.IndexOf("\r\nContent-Length: "u8);
        Assert.True(at >= 0, "a response without Content-Length");
        var rest = head[(at + 18)..];
        int eol = rest.IndexOf("\r\n"u8);
        int length = int.Parse(eol < 0 ? rest : rest[..eol], provider: System.Globalization.CultureInfo.InvariantCulture);
        return received.Length >= end + 4 + length;
    }

    /// <summary>fastsock-proxy on one worker: an http frontend "web" to backend "b" with <paramref name="servers"/>, and an admin listener.</summary>
    private async Task<(IPEndPoint Web, IPEndPoint Admin)> StartProxyWithAdminAsync(string servers, string keepAlive)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "retries": 1,
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "2s" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": {{servers}}{{keepAlive}} } ] }
            """);
        return (await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }
}
