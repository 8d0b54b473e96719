using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// WebSocket through <c>mode http</c>: the Upgrade request reaches Kestrel with <c>Connection: upgrade</c>, its 101
/// comes back, and the two connections become a tunnel (copied or spliced) until either side closes.
/// </summary>
[Trait("Category", "Slow")] // real processes and peers: skip with --filter Category!=Slow
public sealed class WebSocketProxyTests : HttpProxyHarness
{
    private const int LargeMessage = 1024 * 1024;

    public static TheoryData<string, string> WorkersAndForwarding
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add(cores, "copy");
                data.Add(cores, "splice");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(WorkersAndForwarding))]
    public async Task Text_binary_and_a_1_MiB_message_go_both_ways_and_the_client_closes(string cores, string forwarding)
    {
        await using var backend = new WebSocketBackend();
        var (web, admin) = await StartAsync(backend.Port, forwarding, cores: cores);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // Several sessions, so that with two workers both take some.
        for (int session = 0; session < 4; session++)
        {
            using var socket = await ConnectAsync(web, "/echo", timeout.Token);
            await socket.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
            var text = await WebSocketBackend.ReceiveMessageAsync(socket, timeout.Token);
            Assert.Equal((WebSocketMessageType.Text, "hello"), (text.Type, WebSocketBackend.Text(text.Bytes)));

            byte[] binary = [0, 1, 2, 255, 254];
            await socket.SendAsync(binary, WebSocketMessageType.Binary, true, timeout.Token);
            var echoed = await WebSocketBackend.ReceiveMessageAsync(socket, timeout.Token);
            Assert.Equal(WebSocketMessageType.Binary, echoed.Type);
            Assert.Equal(binary, echoed.Bytes);

            var large = RandomNumberGenerator.GetBytes(LargeMessage);
            var receiving = WebSocketBackend.ReceiveMessageAsync(socket, timeout.Token);
            await socket.SendAsync(large, WebSocketMessageType.Binary, true, timeout.Token);
            var largeEcho = await receiving;
            Assert.Equal(SHA256.HashData(large), SHA256.HashData(largeEcho.Bytes));

            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "client done", timeout.Token);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
            Assert.Equal("client done", socket.CloseStatusDescription); // the server's close echoes it back
        }

        Assert.Equal(4, backend.Upgrades);
        using var stats = await RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(stats, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0);
        Assert.True(Frontend(json, "web").GetProperty("bytesOut").GetInt64() >= 4L * LargeMessage, json.ToString());
        Assert.Equal(4, Frontend(json, "web").GetProperty("http").GetProperty("upgrades").GetInt64());
        Assert.Equal(4, Server(json, "b", "s1").GetProperty("http").GetProperty("upgrades").GetInt64());
        Assert.Equal(4, Frontend(json, "web").GetProperty("http").GetProperty("responses1xx").GetInt64());
        var metrics = ParseMetrics((await GetAsync(stats, "/metrics")).Body);
        Assert.Equal(4, metrics["fastsock_proxy_frontend_http_upgrades_total{frontend=\"web\"}"]);
        Assert.Equal(4, metrics["fastsock_proxy_server_http_upgrades_total{backend=\"b\",server=\"s1\"}"]);
        long spliced = BytesSpliced(json);
        if (forwarding == "splice")
        {
            Assert.True(spliced >= 4L * 2 * LargeMessage, $"{spliced} bytes spliced");
        }
        else
        {
            Assert.Equal(0, spliced);
        }
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_tunnel_is_a_current_connection_of_its_server_until_it_ends(string cores)
    {
        await using var backend = new WebSocketBackend();
        var (web, admin) = await StartAsync(backend.Port, "auto", cores: cores);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var stats = await RawHttpClient.ConnectAsync(admin);

        // Two tunnels, each shown live by an echo: the server holds both (HAProxy counts a tunnel until it closes).
        using var closedByClient = await ConnectAsync(web, "/echo", timeout.Token);
        await EchoOnceAsync(closedByClient, timeout.Token);
        using var reset = await RawUpgradeAsync(web);
        var json = await PollJsonAsync(stats, s => Server(s, "b", "s1").GetProperty("current").GetInt64() == 2);
        Assert.Equal(2, Server(json, "b", "s1").GetProperty("current").GetInt64());
        var metrics = ParseMetrics((await GetAsync(stats, "/metrics")).Body);
        Assert.Equal(2, metrics["fastsock_proxy_server_current_sessions{backend=\"b\",server=\"s1\"}"]);

        // Each way a tunnel ends counts it down once: a close handshake, a client reset.
        await closedByClient.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        json = await PollJsonAsync(stats, s => Server(s, "b", "s1").GetProperty("current").GetInt64() == 1);
        Assert.Equal(1, Server(json, "b", "s1").GetProperty("current").GetInt64());
        reset.LingerState = new LingerOption(true, 0);
        reset.Close();
        json = await PollJsonAsync(stats, s => Server(s, "b", "s1").GetProperty("current").GetInt64() == 0);
        Assert.Equal(0, Server(json, "b", "s1").GetProperty("current").GetInt64());

        // The server closing its end: counted down too, and never below zero.
        using (var closedByServer = await ConnectAsync(web, "/server-closes", timeout.Token))
        {
            Assert.Equal("bye", WebSocketBackend.Text((await WebSocketBackend.ReceiveMessageAsync(closedByServer, timeout.Token)).Bytes));
            await closedByServer.ReceiveAsync(new byte[16], timeout.Token);
            await closedByServer.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }

        json = await PollJsonAsync(stats, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0);
        Assert.Equal(0, Server(json, "b", "s1").GetProperty("current").GetInt64());
        Assert.Equal(3, Server(json, "b", "s1").GetProperty("http").GetProperty("upgrades").GetInt64());
    }

    [Fact]
    public async Task A_server_that_closes_its_websocket_ends_the_tunnel()
    {
        await using var backend = new WebSocketBackend();
        var (web, admin) = await StartAsync(backend.Port, "auto");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var socket = await ConnectAsync(web, "/server-closes", timeout.Token);
        var bye = await WebSocketBackend.ReceiveMessageAsync(socket, timeout.Token);
        Assert.Equal("bye", WebSocketBackend.Text(bye.Bytes));
        var close = await socket.ReceiveAsync(new byte[16], timeout.Token);
        Assert.Equal(WebSocketMessageType.Close, close.MessageType);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("server done", socket.CloseStatusDescription);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);

        using var stats = await RawHttpClient.ConnectAsync(admin);
        await PollJsonAsync(stats, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0);
    }

    [Fact]
    public async Task An_upgrade_request_answered_200_or_404_is_a_normal_response_and_the_connection_stays_http()
    {
        await using var backend = new WebSocketBackend();
        var (web, _) = await StartAsync(backend.Port, "auto");
        using var client = await RawHttpClient.ConnectAsync(web);
        const string Upgrade = "Host: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n";

        await client.SendAsync($"GET /plain HTTP/1.1\r\n{Upgrade}\r\n");
        var plain = await client.ReadResponseAsync();
        Assert.Equal(200, plain.Status);
        Assert.Equal("upgrade=websocket|connection=upgrade", plain.Body); // what the backend got
        Assert.Null(plain.Header("Upgrade"));

        await client.SendAsync($"GET /nothing HTTP/1.1\r\n{Upgrade}\r\n");
        Assert.Equal(404, (await client.ReadResponseAsync()).Status);

        await client.SendAsync("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
        var after = await client.ReadResponseAsync();
        Assert.Equal(200, after.Status);
        Assert.Equal("upgrade=|connection=", after.Body);

        // HTTP/1.0 has no Upgrade (RFC 9110 §7.8): it goes on as a plain request, without the field.
        await client.SendAsync($"GET /plain HTTP/1.0\r\n{Upgrade}\r\n");
        var old = await client.ReadResponseAsync();
        Assert.Equal(200, old.Status);
        Assert.Equal("upgrade=|connection=", old.Body);
    }

    [Fact]
    public async Task An_upgrade_request_to_the_in_process_app_gets_an_ordinary_response_no_tunnel()
    {
        // The README says an inproc: server is never tunnelled (so timeouts.tunnel has nothing to bound there): the one
        // in-process app, hello, never answers 101.
        var (proxy, _) = await StartProxyWithConfigAsync("""
            { "admin": { "bind": "127.0.0.1:0" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s1", "address": "inproc:hello" } ] } ] }
            """);
        using var client = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("frontend web"));
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        var answer = await client.ReadResponseAsync();
        Assert.Equal((200, "Hello, World!"), (answer.Status, answer.Body));
        Assert.Null(answer.Header("Upgrade"));

        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"); // still HTTP on the same connection
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        using var stats = await RawHttpClient.ConnectAsync(await proxy.ListeningOnAsync("admin"));
        var json = await PollJsonAsync(stats, _ => true);
        Assert.Equal(0, Server(json, "b", "s1").GetProperty("http").GetProperty("upgrades").GetInt64());
    }

    [Fact]
    public async Task A_101_to_a_request_without_upgrade_or_without_an_upgrade_field_is_502()
    {
        await using var backend = new RawBackend(async c =>
        {
            while (true)
            {
                var head = await c.ReadHeadAsync();
                if (head.Length == 0)
                {
                    return;
                }

                await c.SendAsync(head.Contains("/no-field", StringComparison.Ordinal)
                    ? "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n"
                    : "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
            }
        });
        var (web, _) = await StartAsync(backend.Port, "auto");

        using (var client = await RawHttpClient.ConnectAsync(web))
        {
            await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(502, (await client.ReadResponseAsync()).Status);
        }

        using (var client = await RawHttpClient.ConnectAsync(web))
        {
            await client.SendAsync("GET /no-field HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
            Assert.Equal(502, (await client.ReadResponseAsync()).Status);
        }
    }

    [Fact]
    public async Task An_upgraded_backend_connection_taken_from_the_pool_never_goes_back_to_it()
    {
        await using var backend = new WebSocketBackend();
        var (web, admin) = await StartAsync(backend.Port, "auto");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var stats = await RawHttpClient.ConnectAsync(admin);
        using var client = await RawHttpClient.ConnectAsync(web);
        await client.SendAsync("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        await PollJsonAsync(stats, s => Connections(s).GetProperty("idle").GetInt64() == 1);

        using (var socket = await ConnectAsync(web, "/echo", timeout.Token))
        {
            await socket.SendAsync("once"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
            Assert.Equal("once", WebSocketBackend.Text((await WebSocketBackend.ReceiveMessageAsync(socket, timeout.Token)).Bytes));
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }

        var json = await PollJsonAsync(stats, s => Connections(s).GetProperty("closed").GetInt64() == 1);
        Assert.Equal(1, Connections(json).GetProperty("reused").GetInt64()); // the websocket took the idle connection
        Assert.Equal(0, Connections(json).GetProperty("idle").GetInt64()); // and it did not come back

        await client.SendAsync("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        json = await PollJsonAsync(stats, s => Connections(s).GetProperty("idle").GetInt64() == 1);
        Assert.Equal(2, Connections(json).GetProperty("opened").GetInt64()); // a new one for the next request
    }

    [Theory]
    [InlineData("copy")]
    [InlineData("splice")]
    public async Task The_tunnel_timeout_closes_a_tunnel_where_nothing_moves(string forwarding)
    {
        await using var backend = new WebSocketBackend();
        var (web, admin) = await StartAsync(backend.Port, forwarding, timeouts: ", \"tunnel\": \"1s\"");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var socket = await ConnectAsync(web, "/echo", timeout.Token);
        await socket.SendAsync("before"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
        Assert.Equal("before", WebSocketBackend.Text((await WebSocketBackend.ReceiveMessageAsync(socket, timeout.Token)).Bytes));

        // Nothing more either way: the proxy closes both sides (the client sees its connection end without a close
        // frame), long before the client timeout (30 s) would.
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ReceiveAsync(new byte[16], wait.Token));
        using var stats = await RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(stats, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0);
        Assert.Equal(0, Server(json, "b", "s1").GetProperty("current").GetInt64()); // the timeout ended the server's count too
    }

    [Fact]
    public async Task A_tunnel_idle_longer_than_the_client_timeout_but_within_the_tunnel_timeout_stays_open()
    {
        await using var backend = new WebSocketBackend();
        var (web, _) = await StartAsync(backend.Port, "auto", timeouts: ", \"client\": \"1s\", \"tunnel\": \"60s\"");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var socket = await ConnectAsync(web, "/echo", timeout.Token);

        await Task.Delay(TimeSpan.FromSeconds(3)); // three client timeouts: the tunnel timeout replaces it
        await socket.SendAsync("after"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
        Assert.Equal("after", WebSocketBackend.Text((await WebSocketBackend.ReceiveMessageAsync(socket, timeout.Token)).Bytes));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
    }

    internal static async Task<ClientWebSocket> ConnectAsync(IPEndPoint proxy, string path, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // no pings: a test about idleness sees none
        await socket.ConnectAsync(new Uri($"ws://{proxy}{path}"), cancellationToken);
        return socket;
    }

    private static async Task EchoOnceAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        await socket.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, cancellationToken);
        Assert.Equal("ping", WebSocketBackend.Text((await WebSocketBackend.ReceiveMessageAsync(socket, cancellationToken)).Bytes));
    }

    /// <summary>A WebSocket upgrade on a plain socket (so that a test can reset it), returned once its 101 head is read.</summary>
    private static async Task<Socket> RawUpgradeAsync(IPEndPoint proxy)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy);
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.Equal(1, await socket.ReceiveAsync(one.AsMemory()).AsTask().WaitAsync(Clients.Timeout));
            head.Append((char)one[0]);
        }

        Assert.StartsWith("HTTP/1.1 101 ", head.ToString(), StringComparison.Ordinal);
        return socket;
    }

    private static JsonElement Connections(JsonElement stats) =>
        stats.GetProperty("backends")[0].GetProperty("servers")[0].GetProperty("connections");

    private async Task<(IPEndPoint Web, IPEndPoint Admin)> StartAsync(int port, string forwarding, string timeouts = "", string? cores = null)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "forwarding": "{{forwarding}}",
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "1s" {{timeouts}} },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s1", "address": "127.0.0.1:{{port}}" } ] } ] }
            """, cores: cores);
        return (await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }
}
