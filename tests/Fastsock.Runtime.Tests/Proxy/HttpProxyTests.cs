using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>fastsock-proxy as a real process in http mode, in front of a real nginx and of scripted raw-socket backends: what is forwarded.</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpProxyTests : HttpProxyHarness
{
    [Fact]
    public async Task Get_through_the_proxy_returns_nginx_body_exactly()
    {
        var proxy = await StartProxyAsync(await StartNginxAsync());
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("Hello", response.Body);
        Assert.StartsWith("nginx", response.Header("Server"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hundred_requests_on_one_client_connection_reuse_one_backend_connection()
    {
        var nginx = await StartNginxAsync();
        var proxy = await StartProxyAsync(nginx);
        using (var client = await RawHttpClient.ConnectAsync(proxy))
        {
            for (int i = 0; i < 100; i++)
            {
                await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n");
                Assert.Equal("Hello", (await client.ReadResponseAsync()).Body);
            }
        }

        var connections = nginx.LoggedConnections();
        Assert.Equal(100, connections.Length);
        Assert.Single(connections.Distinct());
    }

    [Fact]
    public async Task Idle_backend_connections_are_closed_after_the_keep_alive_idle_timeout_without_traffic()
    {
        var closedByProxy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            try
            {
                await c.ReadHeadAsync();
            }
            catch (EndOfStreamException)
            {
                closedByProxy.SetResult();
            }
        });
        var (_, proxy) = await StartProxyProcessAsync($$"""[ { "address": "127.0.0.1:{{backend.Port}}" } ], "keepAlive": { "idleTimeout": "300ms" }""");
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal("ok", (await client.ReadResponseAsync()).Body);
        await closedByProxy.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Sigterm_closes_idle_backend_connections_so_the_proxy_stops_without_waiting_for_its_timeout()
    {
        var (process, proxy) = await StartProxyProcessAsync($$"""[ { "address": "127.0.0.1:{{(await StartNginxAsync()).Port}}" } ]""");
        using (var client = await RawHttpClient.ConnectAsync(proxy))
        {
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            Assert.Equal("Hello", (await client.ReadResponseAsync()).Body);
        }

        process.Signal("TERM");
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(8)));
        Assert.DoesNotContain("Shutdown timeout reached", process.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_during_a_request_lets_its_response_through_before_stopping()
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var signalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            received.SetResult();
            await signalled.Task;
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nfinished");
        });
        var (process, proxy) = await StartProxyProcessAsync($$"""[ { "address": "127.0.0.1:{{backend.Port}}" } ]""");
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        process.Signal("TERM");
        await process.WaitForLineAsync("Stopping:");
        await Task.Delay(200); // the workers ask every connection, the backend one included, to finish
        signalled.SetResult();
        Assert.Equal("finished", (await client.ReadResponseAsync()).Body);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(8)));
    }

    [Fact]
    public async Task X_Forwarded_For_is_added_and_hop_by_hop_fields_are_removed_at_the_backend()
    {
        var proxy = await StartProxyAsync(await StartNginxAsync());
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("GET /echo-headers HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, Foo\r\nFoo: bar\r\nTE: trailers\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal("xff=127.0.0.1 conn= te= foo=", response.Body);
        Assert.Null(response.Header("Connection"));
    }

    [Fact]
    public async Task Large_content_length_response_arrives_intact()
    {
        var big = new byte[3 * 1024 * 1024];
        for (int i = 0; i < big.Length; i++)
        {
            big[i] = (byte)('a' + ((i * 7) % 26));
        }

        var proxy = await StartProxyAsync(await StartNginxAsync(big));
        using var client = await RawHttpClient.ConnectAsync(proxy);
        for (int i = 0; i < 2; i++)
        {
            await client.SendAsync("GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal(Encoding.ASCII.GetString(big), response.Body);
        }
    }

    [Fact]
    public async Task Chunked_and_content_length_request_bodies_reach_the_backend_intact_over_one_connection()
    {
        using var backend = new RawBackend(async c =>
        {
            while (true)
            {
                var head = await c.ReadHeadAsync();
                bool chunked = head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase);
                var body = chunked ? await c.ReadChunkedAsync() : await c.ReadAsync(ContentLength(head));
                var answer = (chunked ? "chunked:" : "length:") + body;
                await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {answer.Length}\r\n\r\n{answer}");
            }
        });
        var proxy = await StartProxyAsync(backend.Port);
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n");
        await Task.Delay(50);
        await client.SendAsync("6\r\n world\r\n0\r\nTrailer: x\r\n\r\n");
        Assert.Equal("chunked:hello world", (await client.ReadResponseAsync()).Body);
        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nhello");
        await Task.Delay(50);
        await client.SendAsync(" again");
        Assert.Equal("length:hello again", (await client.ReadResponseAsync()).Body);
        Assert.Equal(1, backend.Accepted);
    }

    [Fact]
    public async Task Request_is_sent_again_when_a_reused_connection_closes_before_answering()
    {
        int connections = 0;
        using var backend = new RawBackend(async c =>
        {
            bool first = Interlocked.Increment(ref connections) == 1;
            await c.ReadHeadAsync();
            await c.SendAsync(first ? "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none" : "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo");
            if (first)
            {
                await c.ReadHeadAsync(); // then close without answering, as a server timing out an idle connection does
            }
        });
        var proxy = await StartProxyAsync(backend.Port);
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal("one", (await client.ReadResponseAsync()).Body);
        await client.SendAsync("GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal("two", (await client.ReadResponseAsync()).Body);
        Assert.Equal(2, backend.Accepted);
    }

    [Fact]
    public async Task Close_delimited_response_is_forwarded_and_then_the_client_connection_closes()
    {
        using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the ");
            await Task.Delay(50);
            await c.SendAsync("end");
            c.Socket.Shutdown(SocketShutdown.Both);
        });
        var proxy = await StartProxyAsync(backend.Port);
        var text = await ExchangeUntilCloseAsync(proxy, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nuntil the end", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunked_response_is_forwarded_as_chunks()
    {
        using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await c.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n");
            await Task.Delay(50);
            await c.SendAsync("2;x=y\r\nde\r\n0\r\n\r\n");
        });
        var proxy = await StartProxyAsync(backend.Port);
        var text = await ExchangeUntilCloseAsync(proxy, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        Assert.Contains("\r\nTransfer-Encoding: chunked\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interim_responses_are_forwarded_before_the_final_one()
    {
        using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await c.SendAsync("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
            await Task.Delay(50);
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        var proxy = await StartProxyAsync(backend.Port);
        var text = await ExchangeUntilCloseAsync(proxy, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nok", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http10_request_without_host_gets_one_for_the_http11_backend_and_the_connection_closes()
    {
        var proxy = await StartProxyAsync(await StartNginxAsync());
        var text = await ExchangeUntilCloseAsync(proxy, "GET /plaintext HTTP/1.0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nHello", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expect_100_continue_is_answered_once_by_the_proxy()
    {
        using var backend = new RawBackend(async c =>
        {
            var head = await c.ReadHeadAsync();
            Assert.Contains("Expect: 100-continue", head, StringComparison.OrdinalIgnoreCase);
            await c.SendAsync("HTTP/1.1 100 Continue\r\n\r\n");
            var body = await c.ReadAsync(ContentLength(head));
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        });
        var proxy = await StartProxyAsync(backend.Port);
        var text = await ExchangeUntilCloseAsync(
            proxy, "POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody");
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nbody", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_failures_are_retried_on_another_server()
    {
        var nginx = await StartNginxAsync();
        var (_, proxy) = await StartProxyProcessAsync($$"""[ { "address": "127.0.0.1:{{RefusingPort()}}" }, { "address": "127.0.0.1:{{nginx.Port}}" } ]""");
        for (int i = 0; i < 4; i++)
        {
            // A new client connection each time, so each request picks a server anew.
            using var client = await RawHttpClient.ConnectAsync(proxy);
            await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            Assert.Equal("Hello", (await client.ReadResponseAsync()).Body);
        }
    }

    private static int ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
