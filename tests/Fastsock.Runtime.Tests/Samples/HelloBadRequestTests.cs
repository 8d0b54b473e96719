using Fastsock.Hosting;

namespace Fastsock.Tests.Samples;

/// <summary>The Hello sample facing malformed and oversized requests: one clear status, then close, never a crash.</summary>
public sealed class HelloBadRequestTests
{
    private const string Get = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

    // Parser limits (src/Runtime/Http/README.md): 8 KiB request line → 414, 32 KiB of header fields → 431.
    private static readonly string LongTarget = "GET /" + new string('a', 9 * 1024) + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    private static readonly string LongHeaders = "GET / HTTP/1.1\r\nHost: localhost\r\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"X-Filler-{i:D2}: {new string('v', 1009)}\r\n")) + "\r\n";

    [Fact]
    public async Task Malformed_request_line_gets_400_and_the_connection_closes()
    {
        await using var server = await HelloTestServer.StartAsync();
        await AssertRefusedAndClosedAsync(server, "GARBAGE\r\n\r\n" + Get, 400);
    }

    [Fact]
    public async Task Header_without_colon_gets_400_and_the_connection_closes()
    {
        await using var server = await HelloTestServer.StartAsync();
        await AssertRefusedAndClosedAsync(server, "GET / HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n" + Get, 400);
    }

    [Fact]
    public async Task Content_length_with_transfer_encoding_gets_400_and_the_connection_closes()
    {
        await using var server = await HelloTestServer.StartAsync();
        await AssertRefusedAndClosedAsync(
            server, "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + Get, 400);
    }

    [Fact]
    public async Task Bad_chunk_size_in_a_request_body_gets_400_and_the_connection_closes()
    {
        await using var server = await HelloTestServer.StartAsync();
        await AssertRefusedAndClosedAsync(
            server, "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + Get, 400, afterOneResponse: true);
    }

    [Fact]
    public async Task Request_target_over_8_KiB_gets_414_and_the_connection_closes()
    {
        Assert.True(LongTarget.Length > 9 * 1024);
        await using var server = await HelloTestServer.StartAsync();
        await AssertRefusedAndClosedAsync(server, LongTarget, 414);
    }

    [Fact]
    public async Task Header_fields_over_32_KiB_get_431_and_the_connection_closes()
    {
        Assert.True(LongHeaders.Length > 40 * 1024);
        await using var server = await HelloTestServer.StartAsync();
        await AssertRefusedAndClosedAsync(server, LongHeaders, 431);
    }

    [Fact]
    public async Task After_every_kind_of_bad_input_the_server_still_answers_and_no_handler_failed()
    {
        string[] bad =
        [
            "GARBAGE\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n", // no Host
            "GET / HTTP/2.0\r\nHost: localhost\r\n\r\n",
            "GET /\u00e9 HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: localhost\r\nX: a\u0001b\r\n\r\n",
            " GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            LongTarget,
            LongHeaders,
        ];
        await using var server = await HelloTestServer.StartAsync();
        foreach (var request in bad)
        {
            using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
            await client.SendIgnoringResetAsync(request);
            var response = await client.ReadResponseAsync();
            if (response.Status == 405)
            {
                response = await client.ReadResponseAsync(); // a fine POST head whose body is broken
            }

            Assert.InRange(response.Status, 400, 505);
            Assert.Equal("close", response.Header("Connection"));
            Assert.True(await client.IsClosedByServerAsync());
        }

        // Partial requests, then the peer vanishes: half a head, half a body, a reset mid-request.
        foreach (var partial in new[] { "GET /plaintext HTTP/1.1\r\nHo", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc" })
        {
            using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
            await client.SendAsync(partial);
        }

        using (var good = await RawHttpClient.ConnectAsync(server.EndPoints[0]))
        {
            await good.SendAsync(Get);
            var response = await good.ReadResponseAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("Hello, World!", response.Body);
        }

        Assert.Equal(0, HelloTestServer.HandlerErrors(server));
    }

    /// <summary>
    /// The first response carries <paramref name="status"/> and "Connection: close", then the stream ends; what followed
    /// the bad request (a good one, pipelined) is never answered.
    /// </summary>
    private static async Task AssertRefusedAndClosedAsync(FastsockServer server, string request, int status, bool afterOneResponse = false)
    {
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendIgnoringResetAsync(request);
        if (afterOneResponse)
        {
            Assert.Equal(405, (await client.ReadResponseAsync()).Status); // the POST head was fine; its body is not
        }

        var response = await client.ReadResponseAsync();
        Assert.Equal(status, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal(0, HelloTestServer.HandlerErrors(server));
    }
}
