using Fastsock.Tests.Samples;

namespace Fastsock.Tests.Http.Server;

/// <summary>The server loop's HTTP/1.1 connection handling over real loopback sockets: keep-alive, pipelining, HEAD, bodies.</summary>
public sealed class HttpServerLoopTests
{
    private const string Get = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

    [Fact]
    public async Task Sequential_requests_share_one_keep_alive_connection()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        for (int i = 0; i < 20; i++)
        {
            await client.SendAsync(Get);
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Null(response.Header("Connection"));
            Assert.Equal("Hello, World!", response.Body);
        }

        Assert.Equal(1, server.GetStats().Sum(w => w.Accepted));
    }

    [Fact]
    public async Task Several_requests_in_one_write_are_answered_in_order()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync(
            "GET /where?n=1 HTTP/1.1\r\nHost: a\r\n\r\n" + Get + "GET /where?n=3 HTTP/1.1\r\nHost: c\r\n\r\n" + "HEAD /plaintext HTTP/1.1\r\nHost: d\r\n\r\n" + Get);

        Assert.Equal("a|/where|n=1", (await client.ReadResponseAsync()).Body);
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
        Assert.Equal("c|/where|n=3", (await client.ReadResponseAsync()).Body);
        Assert.Equal("13", (await client.ReadResponseAsync(headOnly: true)).Header("Content-Length"));
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
    }

    [Fact]
    public async Task Connection_close_is_echoed_and_the_connection_ends_after_the_response()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + Get);

        var response = await client.ReadResponseAsync();
        Assert.Equal("close", response.Header("Connection"));
        Assert.Equal("Hello, World!", response.Body);
        Assert.True(await client.IsClosedByServerAsync()); // the pipelined request after it is not answered
    }

    [Fact]
    public async Task Http10_request_without_keep_alive_is_answered_and_closed()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /plaintext HTTP/1.0\r\n\r\n");

        var response = await client.ReadResponseAsync();
        Assert.Equal("close", response.Header("Connection"));
        Assert.Equal("Hello, World!", response.Body);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Http10_request_with_keep_alive_gets_it_echoed_and_the_connection_stays_open()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        for (int i = 0; i < 3; i++)
        {
            await client.SendAsync("GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.Equal("keep-alive", response.Header("Connection"));
            Assert.Equal("Hello, World!", response.Body);
        }

        await client.SendAsync("HEAD /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        Assert.Equal("keep-alive", (await client.ReadResponseAsync(headOnly: true)).Header("Connection"));
        await client.SendAsync("GET /plaintext HTTP/1.0\r\n\r\n");
        Assert.Equal("close", (await client.ReadResponseAsync()).Header("Connection"));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Head_gets_the_get_headers_with_its_content_length_and_no_body()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /where HTTP/1.1\r\nHost: abc\r\n\r\n");
        var get = await client.ReadResponseAsync();

        // A body after the HEAD response would be read as the start of the next response and fail its parse.
        await client.SendAsync("HEAD /where HTTP/1.1\r\nHost: abc\r\n\r\n" + Get);
        var head = await client.ReadResponseAsync(headOnly: true);
        Assert.Equal(200, head.Status);
        Assert.Equal(get.Header("Content-Length"), head.Header("Content-Length"));
        Assert.Equal(get.Header("Content-Type"), head.Header("Content-Type"));
        var next = await client.ReadResponseAsync();
        Assert.Equal("Hello, World!", next.Body);
    }

    [Fact]
    public async Task Response_written_in_parts_carries_its_extra_header_and_head_drops_its_body()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /parts HTTP/1.1\r\nHost: a\r\n\r\nHEAD /parts HTTP/1.1\r\nHost: a\r\n\r\n" + Get);

        var get = await client.ReadResponseAsync();
        Assert.Equal("0123456789", get.Body);
        Assert.Equal("2", get.Header("X-Parts"));
        var head = await client.ReadResponseAsync(headOnly: true);
        Assert.Equal("10", head.Header("Content-Length"));
        Assert.Equal("2", head.Header("X-Parts"));
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
    }

    [Fact]
    public async Task Unread_content_length_body_split_across_writes_is_skipped_before_the_next_request()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\nGET /plaintext"); // 14 of the 20 body bytes
        Assert.Equal("ignored", (await client.ReadResponseAsync()).Body); // answered before the body is all there
        await client.SendAsync(" HTTP/"); // the last 6
        await client.SendAsync("GET /where HTTP/1.1\r\nHost: next\r\n\r\n");
        Assert.Equal("next|/where|", (await client.ReadResponseAsync()).Body);
    }

    [Fact]
    public async Task Unread_chunked_body_split_across_writes_is_skipped_before_the_next_request()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("POST /ignore HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /");
        Assert.Equal("ignored", (await client.ReadResponseAsync()).Body);
        await client.SendAsync("\r\n1");
        await client.SendAsync("0\r\n0123456789abcdef\r\n0\r\n");
        await client.SendAsync("\r\nGET /where HTTP/1.1\r\nHost: next\r\n\r\n");
        Assert.Equal("next|/where|", (await client.ReadResponseAsync()).Body);
    }

    [Fact]
    public async Task Body_read_by_the_app_arrives_whole_when_sent_in_pieces()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123");
        await client.SendAsync("456789" + Get);
        Assert.Equal("0123456789", (await client.ReadResponseAsync()).Body);
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);

        await client.SendAsync("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        await client.SendAsync("4\r\ndefg\r\n0\r\n\r\n" + Get);
        Assert.Equal("abcdefg", (await client.ReadResponseAsync()).Body);
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
    }

    [Fact]
    public async Task Absolute_form_target_is_routed_like_origin_form_with_its_authority_as_the_host()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync(
            "GET http://example.com:8080/where?x=1 HTTP/1.1\r\nHost: other\r\n\r\n" +
            "GET HTTP://Example.com/plaintext HTTP/1.1\r\nHost: example.com\r\n\r\n" +
            "GET /where HTTP/1.1\r\nHost: origin\r\n\r\n");

        Assert.Equal("example.com:8080|/where|x=1", (await client.ReadResponseAsync()).Body);
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
        Assert.Equal("origin|/where|", (await client.ReadResponseAsync()).Body);
    }
}
