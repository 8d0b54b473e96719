using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Fastsock.Tests.Samples;

/// <summary>The Hello sample's HTTP/1.1 behaviour for well-formed requests, over real loopback sockets.</summary>
public sealed partial class HelloHttpTests
{
    private const string Get = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

    [Fact]
    public async Task Plaintext_response_has_exact_status_headers_and_body()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync(Get);
        var response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Matches(PlaintextHead(), response.Head);
        Assert.Equal("13", response.Header("Content-Length"));
        Assert.Equal("text/plain", response.Header("Content-Type"));
        Assert.Equal("fastsock", response.Header("Server"));
        Assert.NotNull(response.Header("Date"));
        Assert.Null(response.Header("Connection"));
        Assert.Equal("Hello, World!", response.Body);
    }

    [Fact]
    public async Task Root_path_and_json_path_are_served()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /json HTTP/1.1\r\nHost: a\r\n\r\n");

        var root = await client.ReadResponseAsync();
        Assert.Equal(200, root.Status);
        Assert.Equal("Hello, World!", root.Body);
        var json = await client.ReadResponseAsync();
        Assert.Equal("application/json", json.Header("Content-Type"));
        Assert.Equal("Hello, World!", JsonDocument.Parse(json.Body).RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Hundred_sequential_requests_share_one_keep_alive_connection()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        for (int i = 0; i < 100; i++)
        {
            await client.SendAsync(Get);
            var response = await client.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("Hello, World!", response.Body);
        }

        Assert.Equal(1, server.GetStats().Sum(w => w.Accepted));
    }

    [Fact]
    public async Task Sixteen_pipelined_requests_in_one_write_get_sixteen_responses_in_order()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        var batch = new StringBuilder();
        for (int i = 0; i < 16; i++)
        {
            // Alternate the paths so that an out-of-order answer would show.
            batch.Append(i % 2 == 0 ? Get : "GET /missing HTTP/1.1\r\nHost: localhost\r\n\r\n");
        }

        await client.SendAsync(batch.ToString());
        for (int i = 0; i < 16; i++)
        {
            var response = await client.ReadResponseAsync();
            Assert.Equal(i % 2 == 0 ? 200 : 404, response.Status);
        }
    }

    [Fact]
    public async Task Connection_close_is_answered_with_connection_close_and_then_end_of_stream()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Http10_request_without_keep_alive_is_answered_and_closed()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /plaintext HTTP/1.0\r\n\r\n");

        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("Hello, World!", response.Body);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Unknown_path_gets_404_and_the_connection_stays_open()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n" + Get);

        Assert.Equal(404, (await client.ReadResponseAsync()).Status);
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task Post_to_plaintext_gets_405_and_its_body_is_skipped_before_the_next_pipelined_request()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);

        // The body looks like a request: were it parsed as one, a third response (or a 400) would appear.
        const string body = "GET /json HTTP/1.1\r\n\r\n";
        await client.SendAsync($"POST /plaintext HTTP/1.1\r\nHost: localhost\r\nContent-Length: {body.Length}\r\n\r\n{body}" + Get);

        var post = await client.ReadResponseAsync();
        Assert.Equal(405, post.Status);
        Assert.Null(post.Header("Connection"));
        var get = await client.ReadResponseAsync();
        Assert.Equal(200, get.Status);
        Assert.Equal("text/plain", get.Header("Content-Type"));
    }

    [Fact]
    public async Task Chunked_request_body_is_skipped_before_the_next_pipelined_request()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync(
            "POST /plaintext HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n16;ext=1\r\nGET /json HTTP/1.1\r\n\r\n\r\n0\r\nTrailer: x\r\n\r\n"
            + Get);

        Assert.Equal(405, (await client.ReadResponseAsync()).Status);
        var get = await client.ReadResponseAsync();
        Assert.Equal(200, get.Status);
        Assert.Equal("Hello, World!", get.Body);
    }

    [Fact]
    public async Task Request_sent_one_byte_per_write_is_still_answered()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        foreach (byte b in Encoding.ASCII.GetBytes(Get))
        {
            await client.SendAsync([b]);
        }

        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("Hello, World!", response.Body);
    }

    [Fact]
    public async Task Stats_returns_json_with_one_entry_per_worker()
    {
        await using var server = await HelloTestServer.StartAsync();
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /stats HTTP/1.1\r\nHost: localhost\r\n\r\n");

        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("application/json", response.Header("Content-Type"));
        using var json = JsonDocument.Parse(response.Body);
        var workers = json.RootElement.GetProperty("workers");
        Assert.Equal(server.Workers.Count, workers.GetArrayLength());
        Assert.Equal(server.Workers.Select(w => w.Cpu), workers.EnumerateArray().Select(w => w.GetProperty("cpu").GetInt32()));
        Assert.Equal(1, workers.EnumerateArray().Sum(w => w.GetProperty("accepted").GetInt64()));
    }

    [GeneratedRegex(
        @"\AHTTP/1\.1 200 OK\r\nServer: fastsock\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n"
        + @"Content-Type: text/plain\r\nContent-Length: 13\z")]
    private static partial Regex PlaintextHead();
}
