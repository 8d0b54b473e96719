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

        var connections = await nginx.LoggedConnectionsAsync(100);
        Assert.Equal(100, connections.Length);
        Assert.Single(connections.Distinct());
    }

    [Fact]
    public async Task Idle_backend_connections_are_reused_then_closed_after_the_keep_alive_idle_timeout_without_traffic()
    {
        var idleTimeout = TimeSpan.FromSeconds(1);
        var answered = Stopwatch.StartNew();
        var closedAfter = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async c =>
        {
            try
            {
                while (true)
                {
                    await c.ReadHeadAsync();
                    await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    answered.Restart();
                }
            }
            catch (EndOfStreamException)
            {
                closedAfter.TrySetResult(answered.Elapsed);
            }
        });
        var (_, proxy) = await StartProxyProcessAsync($$"""[ { "address": "127.0.0.1:{{backend.Port}}" } ], "keepAlive": { "idleTimeout": "1s" }""");

        // Two client connections one after the other: the second is served by the pooled backend connection.
        for (int i = 0; i < 2; i++)
        {
            using var client = await RawHttpClient.ConnectAsync(proxy);
            await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            Assert.Equal("ok", (await client.ReadResponseAsync()).Body);
            Assert.True(await client.IsClosedByServerAsync());
        }

        Assert.Equal(1, backend.Accepted);
        var idle = await closedAfter.Task.WaitAsync(TimeSpan.FromSeconds(15));
        // Closed by the idle timeout, not at once: a proxy that pools nothing closes right after the response.
        Assert.True(idle >= idleTimeout * 0.9, $"the pooled connection was closed {idle} after its last response, before the {idleTimeout} idle timeout");
        Assert.Equal(1, backend.Accepted);
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
        await using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            received.SetResult();
            await signalled.Task;
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nfinished");
        });
        try
        {
            var (process, proxy) = await StartProxyProcessAsync($$"""[ { "address": "127.0.0.1:{{backend.Port}}" } ]""");
            using var client = await RawHttpClient.ConnectAsync(proxy);
            await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
            await received.Task.WaitAsync(Clients.Timeout);
            process.Signal("TERM");
            await process.WaitForLineAsync("Stopping:");
            await WaitUntilRefusedAsync(proxy); // the listeners are closed: shutdown is under way while the request is open
            signalled.SetResult();
            Assert.Equal("finished", (await client.ReadResponseAsync()).Body);
            Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(8)));
        }
        finally
        {
            // A step above that failed must be the error reported, not the backend's script left waiting at dispose.
            signalled.TrySetResult();
        }
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
    public async Task Chunked_and_content_length_request_bodies_are_streamed_to_the_backend_intact_over_one_connection()
    {
        var firstPart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondFirstPart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async c =>
        {
            var head = await c.ReadHeadAsync();
            Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.OrdinalIgnoreCase);
            Assert.Equal("5\r\nhello\r\n", await c.ReadAsync(10)); // extensions are not forwarded
            firstPart.SetResult(); // the rest of the body is not even sent yet: the proxy streams, it does not buffer
            var answer = "chunked:hello" + await c.ReadChunkedAsync();
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {answer.Length}\r\n\r\n{answer}");

            head = await c.ReadHeadAsync();
            Assert.Equal(11, ContentLength(head));
            var start = await c.ReadAsync(5);
            secondFirstPart.SetResult();
            answer = "length:" + start + await c.ReadAsync(6);
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {answer.Length}\r\n\r\n{answer}");
        });
        var proxy = await StartProxyAsync(backend.Port);
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n");
        await firstPart.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await client.SendAsync("6\r\n world\r\n0\r\nTrailer: x\r\n\r\n");
        Assert.Equal("chunked:hello world", (await client.ReadResponseAsync()).Body);
        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nhello");
        await secondFirstPart.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await client.SendAsync(" again");
        Assert.Equal("length:hello again", (await client.ReadResponseAsync()).Body);
        Assert.Equal(1, backend.Accepted);
        await backend.CompletionAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Request_is_sent_again_when_a_reused_connection_closes_before_answering()
    {
        int connections = 0;
        await using var backend = new RawBackend(async c =>
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
    public async Task Close_delimited_response_is_forwarded_as_it_arrives_and_then_the_client_connection_closes()
    {
        var text = await ForwardInTwoPartsAsync(
            "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the ",
            "end",
            seenMarker: "until the ",
            closeAfter: true);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nuntil the end", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunked_response_is_forwarded_chunk_by_chunk_as_they_arrive()
    {
        var text = await ForwardInTwoPartsAsync(
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n",
            "2;x=y\r\nde\r\n0\r\n\r\n",
            seenMarker: "3\r\nabc\r\n");
        Assert.Contains("\r\nTransfer-Encoding: chunked\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interim_responses_are_forwarded_before_the_final_one_is_even_sent()
    {
        var text = await ForwardInTwoPartsAsync(
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            seenMarker: "rel=preload\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nok", text, StringComparison.Ordinal);
    }

    /// <summary>
    /// The backend answers <paramref name="request"/> with <paramref name="first"/>, then sends <paramref name="second"/>
    /// only once the client has read the first part up to <paramref name="seenMarker"/> through the
    /// proxy, which shows the proxy forwards as bytes arrive. Returns everything the client read until the proxy closed.
    /// </summary>
    private async Task<string> ForwardInTwoPartsAsync(string request, string first, string second, string seenMarker, bool closeAfter = false)
    {
        var firstPartSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await c.SendAsync(first);
            await firstPartSeen.Task;
            await c.SendAsync(second);
            if (closeAfter)
            {
                c.Socket.Shutdown(SocketShutdown.Both);
            }
        });
        var proxy = await StartProxyAsync(backend.Port);
        using var client = await WireClient.ConnectAsync(proxy);
        await client.SendAsync(request);
        await client.ReadUntilAsync(seenMarker, TimeSpan.FromSeconds(15));
        firstPartSeen.SetResult();
        return await client.ReadToEndAsync();
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
    public async Task Expect_100_continue_is_answered_by_the_proxy_so_a_waiting_client_sends_its_body_to_a_backend_that_never_sends_100()
    {
        // RFC 9110 §10.1.1: a client that sent Expect: 100-continue may wait for 100 before its body. This backend
        // never sends one (an HTTP/1.0-minded server); the proxy streams bodies, so it must answer 100 itself.
        await using var backend = new RawBackend(async c =>
        {
            var head = await c.ReadHeadAsync();
            Assert.Contains("Expect: 100-continue", head, StringComparison.OrdinalIgnoreCase);
            var body = await c.ReadAsync(ContentLength(head));
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        });
        var proxy = await StartProxyAsync(backend.Port);
        using var client = await WireClient.ConnectAsync(proxy);
        await client.SendAsync("POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n");
        await client.ReadUntilAsync("HTTP/1.1 100 Continue\r\n\r\n", TimeSpan.FromSeconds(10)); // the body is held until then
        await client.SendAsync("body");
        var text = await client.ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nbody", text, StringComparison.Ordinal);
        await backend.CompletionAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Expect_100_continue_is_answered_once_when_the_backend_sends_its_own_100()
    {
        await using var backend = new RawBackend(async c =>
        {
            var head = await c.ReadHeadAsync();
            Assert.Contains("Expect: 100-continue", head, StringComparison.OrdinalIgnoreCase);
            await c.SendAsync("HTTP/1.1 100 Continue\r\n\r\n");
            var body = await c.ReadAsync(ContentLength(head));
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        });
        var proxy = await StartProxyAsync(backend.Port);
        using var client = await WireClient.ConnectAsync(proxy);
        await client.SendAsync("POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n");
        await client.ReadUntilAsync("HTTP/1.1 100 Continue\r\n\r\n", TimeSpan.FromSeconds(10));
        await client.SendAsync("body");
        var text = await client.ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nbody", text, StringComparison.Ordinal);
        await backend.CompletionAsync(TimeSpan.FromSeconds(15));
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

    /// <summary>Waits until a new connection to <paramref name="endPoint"/> is refused: its listener is closed.</summary>
    private static async Task WaitUntilRefusedAsync(IPEndPoint endPoint)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(endPoint);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                return; // refused: no listener; reset: the probe was queued on a listener that closed under it
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"{endPoint} still accepts connections 15 s after SIGTERM");
            await Task.Delay(20);
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
