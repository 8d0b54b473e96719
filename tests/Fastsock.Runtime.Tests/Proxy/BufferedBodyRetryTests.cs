using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A request whose whole body arrived with its head can go again after a connection that died before any response
/// byte (to another server with retryOn buffered-body; to a new connection when a pooled one was dead); a body still
/// arriving is streamed and never sent twice. Every backend here counts the bodies it received.
/// </summary>
public sealed class BufferedBodyRetryTests : HttpProxyHarness
{
    private const string RetryBufferedBodies = """, "retryOn": [ "conn-failure", "empty-response", "buffered-body" ]""";

    [Fact]
    public async Task A_post_whose_body_arrived_whole_goes_to_the_other_server_with_retry_on_buffered_body_and_each_server_sees_it_once()
    {
        var resetBodies = new ConcurrentQueue<string>();
        var okBodies = new ConcurrentQueue<string>();
        await using var resetting = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            resetBodies.Enqueue(await conversation.ReadAsync(5));
            Reset(conversation);
        });
        await using var ok = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            okBodies.Enqueue(await conversation.ReadAsync(5));
            await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        });
        // Round robin with equal weights sends the first request to the first server.
        var (_, front, admin) = await StartProxyWithAdminAsync(
            $$"""[ { "name": "rst", "address": "127.0.0.1:{{resetting.Port}}" }, { "name": "ok", "address": "127.0.0.1:{{ok.Port}}" } ]""", RetryBufferedBodies, serverTimeout: "10s");

        var response = await ExchangeUntilCloseAsync(front, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");

        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.EndsWith("ok", response, StringComparison.Ordinal);
        Assert.Equal(["hello"], resetBodies);
        Assert.Equal(["hello"], okBodies);
        var rst = await RedispatchTests.ServerStatsAsync(admin, "rst");
        Assert.Equal(1, rst.GetProperty("failures").GetProperty("reset").GetInt64());
        Assert.Equal(1, rst.GetProperty("failures").GetProperty("redispatches").GetInt64());
    }

    [Fact]
    public async Task A_body_still_arriving_is_streamed_and_never_sent_again_even_with_retry_on_buffered_body()
    {
        var partSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resetBodies = new ConcurrentQueue<string>();
        await using var resetting = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            var first = await conversation.ReadAsync(3);
            partSeen.TrySetResult();
            resetBodies.Enqueue(first + await conversation.ReadAsync(2));
            Reset(conversation);
        });
        await using var other = new RawBackend(async conversation =>
        {
            await conversation.ReadHeadAsync();
            await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        });
        var (_, front, admin) = await StartProxyWithAdminAsync(
            $$"""[ { "name": "rst", "address": "127.0.0.1:{{resetting.Port}}" }, { "name": "other", "address": "127.0.0.1:{{other.Port}}" } ]""", RetryBufferedBodies, serverTimeout: "10s");

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(front);
        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhel"u8.ToArray(), SocketFlags.None);
        await partSeen.Task.WaitAsync(TimeSpan.FromSeconds(20)); // the server has part of the body: it is being streamed
        await client.SendAsync("lo"u8.ToArray(), SocketFlags.None);
        var response = System.Text.Encoding.Latin1.GetString(await Clients.ReadToEndAsync(client));

        Assert.StartsWith("HTTP/1.1 502", response, StringComparison.Ordinal);
        Assert.Equal(["hello"], resetBodies);
        Assert.Equal(1, resetting.Accepted);
        Assert.Equal(0, other.Accepted);
        var failures = (await RedispatchTests.ServerStatsAsync(admin, "rst")).GetProperty("failures");
        Assert.Equal((1, 0, 0), (failures.GetProperty("reset").GetInt64(), failures.GetProperty("badResponse").GetInt64(), failures.GetProperty("redispatches").GetInt64()));
    }

    [Fact]
    public async Task A_post_on_a_pooled_connection_found_dead_is_not_sent_again_by_default_and_is_counted()
    {
        var bodies = new ConcurrentQueue<string>();
        await using var backend = DiesUnderTheSecondRequest(bodies);
        var (_, front, admin) = await StartProxyWithAdminAsync($$"""[ { "name": "only", "address": "127.0.0.1:{{backend.Port}}" } ]""", serverTimeout: "10s");

        var second = await SecondRequestOnAPooledConnectionAsync(front, "POST");

        // RFC 9112 §9.3.1: a non-idempotent request is not retried unless the proxy knows it is safe (retryOn buffered-body).
        Assert.Equal(502, second.Status);
        Assert.Equal(["hello"], bodies);
        Assert.Equal(1, backend.Accepted);
        var failures = (await RedispatchTests.ServerStatsAsync(admin, "only")).GetProperty("failures");
        Assert.Equal(1, failures.GetProperty("notResent").GetInt64());
    }

    [Theory]
    [InlineData("PUT", "")]
    [InlineData("DELETE", "")]
    [InlineData("POST", RetryBufferedBodies)]
    public async Task An_idempotent_request_or_a_post_with_retry_on_buffered_body_goes_again_on_a_new_connection_when_the_pooled_one_was_dead(string method, string backendMore)
    {
        var bodies = new ConcurrentQueue<string>();
        await using var backend = DiesUnderTheSecondRequest(bodies);
        var (_, front, admin) = await StartProxyWithAdminAsync($$"""[ { "name": "only", "address": "127.0.0.1:{{backend.Port}}" } ]""", backendMore, serverTimeout: "10s");

        var second = await SecondRequestOnAPooledConnectionAsync(front, method);

        Assert.Equal(200, second.Status);
        Assert.Equal(["hello", "hello"], bodies);
        Assert.Equal(2, backend.Accepted);
        var failures = (await RedispatchTests.ServerStatsAsync(admin, "only")).GetProperty("failures");
        Assert.Equal(0, failures.GetProperty("notResent").GetInt64());
    }

    /// <summary>
    /// The first connection serves a GET and is pooled, then dies under the next request without answering (the
    /// keep-alive race: the server closed it as the request went out); later connections answer.
    /// </summary>
    private static RawBackend DiesUnderTheSecondRequest(ConcurrentQueue<string> bodies)
    {
        int conversations = 0;
        return new RawBackend(async conversation =>
        {
            if (Interlocked.Increment(ref conversations) == 1)
            {
                await conversation.ReadHeadAsync();
                await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
                await conversation.ReadHeadAsync();
                bodies.Enqueue(await conversation.ReadAsync(5));
                Reset(conversation);
                return;
            }

            await conversation.ReadHeadAsync();
            bodies.Enqueue(await conversation.ReadAsync(5));
            await conversation.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
        });
    }

    private static async Task<RawHttpResponse> SecondRequestOnAPooledConnectionAsync(IPEndPoint front, string method)
    {
        using var client = await RawHttpClient.ConnectAsync(front);
        await client.SendAsync("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        await client.SendAsync($"{method} /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
        return await client.ReadResponseAsync();
    }

    private static void Reset(RawBackend.Conversation conversation)
    {
        conversation.Socket.LingerState = new LingerOption(true, 0);
        conversation.Socket.Close(); // RST, before any response byte
    }
}
