using Fastsock.Http.Proxying;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>Heads through <see cref="HttpExchangeForwarder"/>: the fields kept and added, interim responses, bodiless responses, target forms.</summary>
public sealed class HttpExchangeForwarderHeadTests
{
    private const string Added = "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n";

    [Fact]
    public async Task Hop_by_hop_and_connection_listed_fields_are_removed_both_ways_and_the_client_is_appended_to_x_forwarded_for()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync(
            "GET /h HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
            + "Upgrade: websocket\r\nProxy-Authorization: Basic eA==\r\nX-Forwarded-For: 203.0.113.9\r\nAccept: */*\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();

        Assert.Equal(
            "GET /h HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9, 192.0.2.1\r\nAccept: */*\r\nX-Forwarded-Proto: http\r\n\r\n",
            await backend.ReadHeadAsync());
        await backend.SendAsync(
            "HTTP/1.1 200 OK\r\nConnection: X-Backend\r\nX-Backend: b1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\n"
            + "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal("ok", await client.ReadAsync(2));
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
    }

    [Theory]
    [InlineData("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")]
    [InlineData("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n")]
    [InlineData("GET", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nETag: \"e\"\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n")]
    [InlineData("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")]
    public async Task Responses_without_a_body_end_at_their_head_whatever_their_framing_fields_say(string method, string response, string expected)
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync($"{method} / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        await backend.SendAsync(response);

        Assert.Equal(expected, await client.ReadHeadAsync());
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, true, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));

        // Nothing was awaited or forwarded as a body: the next exchange starts cleanly on both connections.
        await client.SendAsync("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        Assert.Equal($"GET /next HTTP/1.1\r\nHost: h\r\n{Added}\r\n", await backend.ReadHeadAsync());
        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", await client.ReadThroughAsync("x"));
    }

    [Fact]
    public async Task Interim_responses_reach_the_client_before_the_final_one_is_sent()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await backend.SendAsync("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");
        Assert.Equal("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", await client.ReadHeadAsync());
        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", await client.ReadThroughAsync("ok"));

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, 200), (outcome.Error, outcome.StatusCode));
    }

    [Fact]
    public async Task Client_expecting_100_continue_gets_it_from_the_proxy_and_not_a_second_one_from_the_backend()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");

        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", await client.ReadHeadAsync());
        await client.SendAsync("data");
        var backend = await harness.AcceptBackendAsync();
        Assert.Equal($"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n{Added}Content-Length: 4\r\n\r\n", await backend.ReadHeadAsync());
        Assert.Equal("data", await backend.ReadAsync(4));
        await backend.SendAsync("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", await client.ReadHeadAsync());
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, 201, true), (outcome.Error, outcome.StatusCode, outcome.ClientKeepAlive));
    }

    [Fact]
    public async Task Absolute_form_request_reaches_the_backend_in_origin_form_with_its_authority_as_host()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: ignored.example\r\nAccept: */*\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();

        Assert.Equal($"GET /p?q=1 HTTP/1.1\r\nAccept: */*\r\n{Added}Host: example.com:8080\r\n\r\n", await backend.ReadHeadAsync());
        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
    }

    [Fact]
    public async Task Http10_request_without_host_gets_the_callers_host_and_the_client_is_closed_after_its_response()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /old HTTP/1.0\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();

        Assert.Equal($"GET /old HTTP/1.1\r\n{Added}Host: backend.test\r\n\r\n", await backend.ReadHeadAsync());
        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", await client.ReadToEndAsync());
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, false, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
    }
}
