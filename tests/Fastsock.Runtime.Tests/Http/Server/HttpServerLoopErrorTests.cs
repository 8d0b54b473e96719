using Fastsock.Hosting;
using Fastsock.Tests.Samples;

namespace Fastsock.Tests.Http.Server;

/// <summary>Malformed and oversized requests: one status (400, 414, 431, 505), "Connection: close", then the end.</summary>
public sealed class HttpServerLoopErrorTests
{
    private const string Get = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

    [Theory]
    [InlineData("GARBAGE\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400)]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505)]
    [InlineData("GET http://example.com/where HTTP/1.1\r\n\r\n", 400)] // absolute-form still needs its Host field
    [InlineData("GET /where HTTP/1.1\r\nHost: a b\r\n\r\n", 400)] // not a uri-host
    [InlineData("GET http://user@example.com/where HTTP/1.1\r\nHost: example.com\r\n\r\n", 400)] // userinfo
    [InlineData("GET ftp://example.com/where HTTP/1.1\r\nHost: example.com\r\n\r\n", 400)]
    [InlineData("GET http:///where HTTP/1.1\r\nHost: example.com\r\n\r\n", 400)] // empty authority
    public async Task Malformed_request_gets_its_status_and_the_connection_closes(string request, int status)
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        await AssertRefusedAndClosedAsync(server, request + Get, status);
    }

    [Fact]
    public async Task Request_line_over_its_limit_gets_414()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        await AssertRefusedAndClosedAsync(server, "GET /" + new string('a', 9 * 1024) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414);
    }

    [Fact]
    public async Task Header_fields_over_their_limit_get_431()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        string filler = string.Concat(Enumerable.Range(0, 40).Select(i => $"X-Filler-{i:D2}: {new string('v', 1009)}\r\n"));
        await AssertRefusedAndClosedAsync(server, "GET / HTTP/1.1\r\nHost: a\r\n" + filler + "\r\n", 431);
    }

    [Fact]
    public async Task Malformed_chunked_body_read_by_the_app_gets_400_and_the_connection_closes()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        await AssertRefusedAndClosedAsync(server, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + Get, 400);
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
    }

    private static async Task AssertRefusedAndClosedAsync(FastsockServer server, string request, int status)
    {
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendIgnoringResetAsync(request);
        var response = await client.ReadResponseAsync();
        Assert.Equal(status, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.IsClosedByServerAsync());
    }
}
