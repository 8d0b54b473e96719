using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A failed attempt goes to another server: a refused or timed-out connect, a new connection reset before any response
/// byte (for a GET); never a request whose body was already streamed.
/// </summary>
public sealed class RedispatchTests : HttpProxyHarness
{
    // The failing servers weigh 10 against 1: a retry the balancer alone picks would go back to them, so only a
    // redispatch that leaves them out gets every request through.
    [Fact]
    public async Task Requests_to_a_refusing_server_go_to_the_other_server_and_all_get_200()
    {
        var nginx = await StartNginxAsync();
        using var refusing = LoopbackPorts.Refusing();
        int refused = refusing.Port;
        var (_, front, _) = await StartProxyWithAdminAsync($$"""[ { "name": "gone", "address": "127.0.0.1:{{refused}}", "weight": 10 }, { "name": "ok", "address": "127.0.0.1:{{nginx.Port}}" } ]""");

        await AssertAllOkAsync(front, requests: 20);
        Assert.Equal(20, (await nginx.LoggedConnectionsAsync(20)).Length);
    }

    [Fact]
    public async Task A_connect_that_times_out_goes_to_the_other_server()
    {
        var nginx = await StartNginxAsync();
        // A listener never accepting, its queue full: further SYNs are dropped and the connect times out.
        using var stuck = new Socket(SocketType.Stream, ProtocolType.Tcp);
        stuck.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        stuck.Listen(0);
        var stuckPort = ((IPEndPoint)stuck.LocalEndPoint!).Port;
        var fillers = await FillAcceptQueueAsync(stuckPort);
        try
        {
            var (_, front, _) = await StartProxyWithAdminAsync(
                $$"""[ { "name": "stuck", "address": "127.0.0.1:{{stuckPort}}", "weight": 10 }, { "name": "ok", "address": "127.0.0.1:{{nginx.Port}}" } ]""", connectTimeout: "300ms");
            await AssertAllOkAsync(front, requests: 4);
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task A_get_whose_new_connection_is_reset_before_the_response_goes_to_the_other_server()
    {
        var nginx = await StartNginxAsync();
        await using var resetting = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            conversation.Socket.LingerState = new LingerOption(true, 0);
            conversation.Socket.Close(); // RST
        });
        var (_, front, _) = await StartProxyWithAdminAsync($$"""[ { "name": "rst", "address": "127.0.0.1:{{resetting.Port}}", "weight": 10 }, { "name": "ok", "address": "127.0.0.1:{{nginx.Port}}" } ]""");

        await AssertAllOkAsync(front, requests: 10);
        Assert.True(resetting.Accepted >= 1, "the resetting server was never tried");
    }

    [Fact]
    public async Task A_request_whose_body_was_streamed_is_never_sent_again_and_gets_502()
    {
        int bodiesSeen = 0;
        await using var resetting = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            await conversation.ReadAsync(5);
            Interlocked.Increment(ref bodiesSeen);
            conversation.Socket.LingerState = new LingerOption(true, 0);
            conversation.Socket.Close();
        });
        await using var other = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        });
        // Round robin with equal weights sends the first request to the first server.
        var (_, front, _) = await StartProxyWithAdminAsync($$"""[ { "name": "rst", "address": "127.0.0.1:{{resetting.Port}}" }, { "name": "other", "address": "127.0.0.1:{{other.Port}}" } ]""");

        var response = await ExchangeUntilCloseAsync(front, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");

        Assert.StartsWith("HTTP/1.1 502", response, StringComparison.Ordinal);
        Assert.Equal(1, Volatile.Read(ref bodiesSeen));
        Assert.Equal(1, resetting.Accepted);
        Assert.Equal(0, other.Accepted);
    }

    [Fact]
    public async Task Failures_are_counted_per_server_by_reason_with_their_redispatches_in_the_stats_the_page_and_the_metrics()
    {
        var nginx = await StartNginxAsync();
        using var refusing = LoopbackPorts.Refusing();
        await using var resetting = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            conversation.Socket.LingerState = new LingerOption(true, 0);
            conversation.Socket.Close(); // RST
        });
        var (_, front, admin) = await StartProxyWithAdminAsync($$"""
            [ { "name": "gone", "address": "127.0.0.1:{{refusing.Port}}", "weight": 10 },
              { "name": "rst", "address": "127.0.0.1:{{resetting.Port}}", "weight": 10 },
              { "name": "ok", "address": "127.0.0.1:{{nginx.Port}}" } ]
            """);

        await AssertAllOkAsync(front, requests: 12);

        var gone = await ServerStatsAsync(admin, "gone");
        long refused = Failures(gone, "connectRefused");
        Assert.True(refused >= 1, "the refusing server was never tried");
        Assert.Equal(gone.GetProperty("connectErrors").GetInt64(), refused);
        Assert.Equal(refused, Failures(gone, "redispatches"));
        Assert.Equal(0, Failures(gone, "reset"));
        var rst = await ServerStatsAsync(admin, "rst");
        long resets = Failures(rst, "reset");
        Assert.Equal(resetting.Accepted, resets);
        Assert.True(resets >= 1, "the resetting server was never tried");
        Assert.Equal(resets, Failures(rst, "redispatches"));
        Assert.Equal(0, Failures(rst, "connectRefused"));
        var ok = await ServerStatsAsync(admin, "ok");
        foreach (var counter in ok.GetProperty("failures").EnumerateObject())
        {
            Assert.True(counter.Value.GetInt64() == 0, $"the healthy server counted {counter.Name} {counter.Value}");
        }

        using var client = await RawHttpClient.ConnectAsync(admin);
        string metrics = (await AdminStatsTests.GetAsync(client, "/metrics")).Body;
        Assert.Contains($"fastsock_proxy_server_failures_total{{backend=\"b\",server=\"gone\",reason=\"connect_refused\"}} {refused}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"fastsock_proxy_server_failures_total{{backend=\"b\",server=\"rst\",reason=\"reset\"}} {resets}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"fastsock_proxy_server_redispatches_total{{backend=\"b\",server=\"rst\"}} {resets}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"fastsock_proxy_backend_failures_total{{backend=\"b\",reason=\"connect_refused\"}} {refused}\n", metrics, StringComparison.Ordinal);
        Assert.Contains("fastsock_proxy_server_passive_mark_downs_total{backend=\"b\",server=\"gone\"} 0\n", metrics, StringComparison.Ordinal);
        using var pageClient = await RawHttpClient.ConnectAsync(admin);
        string page = (await AdminStatsTests.GetAsync(pageClient, "/stats")).Body;
        Assert.Contains(">connectRefused</th>", page, StringComparison.Ordinal);
        Assert.Contains(">redispatches</th>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_response_head_is_answered_502_and_counted_as_a_bad_response_not_a_reset()
    {
        await using var garbage = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc");
        });
        var (_, front, admin) = await StartProxyWithAdminAsync($$"""[ { "name": "bad", "address": "127.0.0.1:{{garbage.Port}}" } ]""");

        var response = await ExchangeUntilCloseAsync(front, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 502", response, StringComparison.Ordinal);
        var bad = await ServerStatsAsync(admin, "bad");
        Assert.Equal((1, 0), (Failures(bad, "badResponse"), Failures(bad, "reset")));
    }

    private static long Failures(JsonElement server, string counter) => server.GetProperty("failures").GetProperty(counter).GetInt64();

    private static async Task AssertAllOkAsync(IPEndPoint proxy, int requests)
    {
        using var client = await RawHttpClient.ConnectAsync(proxy);
        for (int i = 0; i < requests; i++)
        {
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
        }
    }

    private static async Task<List<Socket>> FillAcceptQueueAsync(int port)
    {
        var fillers = new List<Socket>();
        for (int i = 0; i < 8; i++)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            fillers.Add(socket);
            using var cut = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cut.Token);
            }
            catch (OperationCanceledException)
            {
                return fillers; // this SYN was dropped: the queue is full
            }
        }

        return fillers;
    }

    internal static async Task<JsonElement> ServerStatsAsync(IPEndPoint admin, string server)
    {
        using var client = await RawHttpClient.ConnectAsync(admin);
        var response = await AdminStatsTests.GetAsync(client, "/stats?format=json");
        return AdminStatsTests.Server(JsonDocument.Parse(response.Body).RootElement.Clone(), "b", server);
    }

    /// <summary>Polls until <paramref name="condition"/> holds, for up to 20 s; false if it never did.</summary>
    internal static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < until)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }
}
