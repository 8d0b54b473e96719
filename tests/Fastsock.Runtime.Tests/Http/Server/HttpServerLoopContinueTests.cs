using Fastsock.Tests.Samples;

namespace Fastsock.Tests.Http.Server;

/// <summary>
/// <c>Expect: 100-continue</c> (RFC 9110 §10.1.1): the loop sends 100 only when the app starts reading the body, as
/// Kestrel does; an app that answers without reading it gets no 100 sent and the connection closes after the answer.
/// </summary>
public sealed class HttpServerLoopContinueTests
{
    [Fact]
    public async Task Client_waiting_for_100_continue_gets_it_when_the_app_reads_the_body_then_the_answer()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");

        // Nothing of the body is sent until the interim response arrives.
        var interim = await client.ReadResponseAsync(headOnly: true);
        Assert.Equal(100, interim.Status);
        Assert.Empty(interim.Headers);
        await client.SendAsync("hello");
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("hello", response.Body);
        Assert.Null(response.Header("Connection"));

        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"); // still open
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);
    }

    [Fact]
    public async Task App_that_answers_without_reading_the_body_sends_no_100_and_closes_after_its_answer()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("POST /ignore HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");

        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status); // the final answer comes first: no 100 Continue before it
        Assert.Equal("ignored", response.Body);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Expect_continue_without_a_body_is_answered_and_kept_alive()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n");

        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Null(response.Header("Connection"));
        await client.SendAsync("GET /where HTTP/1.1\r\nHost: b\r\n\r\n");
        Assert.Equal("b|/where|", (await client.ReadResponseAsync()).Body);
    }
}
