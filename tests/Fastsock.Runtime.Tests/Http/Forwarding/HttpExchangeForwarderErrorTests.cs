using System.Net.Sockets;
using Fastsock.Http.Proxying;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>How an exchange through <see cref="HttpExchangeForwarder"/> ends when a side fails: the outcome, and what each connection sees.</summary>
public sealed class HttpExchangeForwarderErrorTests
{
    [Fact]
    public async Task Backend_ending_inside_the_response_body_cuts_the_response_and_closes_both_connections()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123");
        backend.Socket.Shutdown(SocketShutdown.Send);

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123", await client.ReadToEndAsync());
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal(
            (HttpForwarderError.ResponseBodyDestination, 200, 0, false, false),
            (outcome.Error, outcome.StatusCode, outcome.AnswerStatus, outcome.ClientKeepAlive, outcome.BackendReusable));
    }

    [Fact]
    public async Task Malformed_chunks_from_the_backend_cut_the_response()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await backend.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n");

        Assert.Equal("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", await client.ReadToEndAsync());
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.ResponseBodyDestination, false, false), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
    }

    [Fact]
    public async Task Backend_closing_before_a_complete_head_is_a_502_to_answer()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-");
        backend.Socket.Shutdown(SocketShutdown.Send);

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.ResponseHeaders, 502, false, false), (outcome.Error, outcome.AnswerStatus, outcome.CanRetry, outcome.BackendReusable));
        Assert.StartsWith("HTTP/1.1 502 ", await client.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n")]
    [InlineData("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: x y\r\n\r\n")]
    public async Task Response_heads_a_proxy_cannot_frame_safely_are_a_502_and_nothing_of_them_reaches_the_client(string response)
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await backend.SendAsync(response);

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.ResponseHeaders, 502, false), (outcome.Error, outcome.AnswerStatus, outcome.BackendReusable));
        Assert.StartsWith("HTTP/1.1 502 Bad Gateway\r\n", await client.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "Both Content-Length and Transfer-Encoding")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "Conflicting Content-Length values")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "Transfer-Encoding does not end with chunked")]
    [InlineData("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in an HTTP/1.0 request")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "More than one Host field")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n", "Obsolete line folding")]
    public async Task Request_smuggling_shapes_are_rejected_by_the_one_parse_and_never_reach_a_backend(string request, string reason)
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync(request);

        var rejected = await harness.NextRejectionAsync();
        Assert.Equal((400, reason), (rejected.StatusCode, rejected.Reason));
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", await client.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_chunks_from_the_client_are_a_400_to_answer()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n");

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.RequestBodyInvalid, 400, false), (outcome.Error, outcome.AnswerStatus, outcome.BackendReusable));
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", await client.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_ending_inside_its_request_body_ends_the_exchange_without_an_answer()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        Assert.Equal("0123", await backend.ReadAsync(4));

        client.Socket.Shutdown(SocketShutdown.Send);

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.RequestBodyClient, 0, false), (outcome.Error, outcome.AnswerStatus, outcome.BackendReusable));
        Assert.True(await backend.EndsAsync());
    }

    [Fact]
    public async Task Client_leaving_while_its_response_is_awaited_aborts_the_backend_request_when_draining_is_off()
    {
        await using var harness = await ExchangeHarness.StartAsync(new HttpForwarderOptions { MaxDrainBody = 0 });
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        client.Socket.Shutdown(SocketShutdown.Send);

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.ClientAborted, 0, false, false), (outcome.Error, outcome.AnswerStatus, outcome.ClientKeepAlive, outcome.BackendReusable));
        Assert.True(await backend.EndsAsync());
    }

    [Fact]
    public async Task Client_leaving_while_a_silent_server_thinks_closes_the_backend_once_the_response_timeout_passes()
    {
        // The response is awaited to discard it (so the connection could be kept), but never longer than the timeout.
        // 3 s, not less: the client must leave before it passes, and the test's accept and read of the request come
        // first (500 ms could be spent there on a loaded machine, which would make the outcome a timeout instead).
        await using var harness = await ExchangeHarness.StartAsync(new HttpForwarderOptions { ResponseTimeout = TimeSpan.FromSeconds(3) });
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        client.Socket.Shutdown(SocketShutdown.Send);

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.ClientAborted, 0, false, false), (outcome.Error, outcome.AnswerStatus, outcome.ClientKeepAlive, outcome.BackendReusable));
        Assert.True(await backend.EndsAsync());
    }

    [Fact]
    public async Task Half_closed_client_still_gets_its_response_without_abort_on_close()
    {
        await using var harness = await ExchangeHarness.StartAsync(new HttpForwarderOptions { AbortOnClose = false });
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        client.Socket.Shutdown(SocketShutdown.Send);

        // The forwarder is still waiting for the response: the backend connection stays open until it is answered.
        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", await client.ReadThroughAsync("ok"));
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
    }

    [Fact]
    public async Task No_response_within_the_response_timeout_is_a_504_to_answer()
    {
        await using var harness = await ExchangeHarness.StartAsync(new HttpForwarderOptions { ResponseTimeout = TimeSpan.FromMilliseconds(300) });
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.RequestTimedOut, 504, false), (outcome.Error, outcome.AnswerStatus, outcome.BackendReusable));
        Assert.StartsWith("HTTP/1.1 504 Gateway Timeout\r\n", await client.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reused_backend_closing_before_any_response_byte_lets_the_same_request_go_again_on_a_new_connection()
    {
        await using var harness = await ExchangeHarness.StartAsync(replayable: true);
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
        var stale = await harness.AcceptBackendAsync();
        string head = await stale.ReadHeadAsync();
        stale.Socket.Shutdown(SocketShutdown.Both);
        stale.Dispose();

        var first = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.Request, true), (first.Error, first.CanRetry));
        var fresh = await harness.AcceptBackendAsync();
        Assert.Equal(head, await fresh.ReadHeadAsync());
        await fresh.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", await client.ReadThroughAsync("ok"));
        var second = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, false, true), (second.Error, second.CanRetry, second.ClientKeepAlive));
    }

    [Fact]
    public async Task Request_whose_body_arrived_with_its_head_goes_again_with_the_same_body_and_the_next_request_follows()
    {
        await using var harness = await ExchangeHarness.StartAsync(replayable: true);
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
        var stale = await harness.AcceptBackendAsync();
        string head = await stale.ReadHeadAsync();
        Assert.Equal("hi", await stale.ReadAsync(2));
        stale.Socket.Shutdown(SocketShutdown.Both);
        stale.Dispose();

        var first = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.Request, true), (first.Error, first.CanRetry));
        // The harness sends it again as not replayable: the body still comes from the held read, not from the client.
        var fresh = await harness.AcceptBackendAsync();
        Assert.Equal(head, await fresh.ReadHeadAsync());
        Assert.Equal("hi", await fresh.ReadAsync(2));
        await fresh.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", await client.ReadThroughAsync("ok"));
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);

        // The client's input went on after the body: the next request is read as a request.
        await client.SendAsync("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        Assert.StartsWith("GET /next HTTP/1.1\r\n", await fresh.ReadHeadAsync(), StringComparison.Ordinal);
        await fresh.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
    }

    [Fact]
    public async Task Request_whose_body_was_still_arriving_is_never_offered_for_a_retry()
    {
        await using var harness = await ExchangeHarness.StartAsync(replayable: true);
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nh");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        Assert.Equal("h", await backend.ReadAsync(1)); // streamed: the server has part of it
        await client.SendAsync("i");
        Assert.Equal("i", await backend.ReadAsync(1));
        backend.Socket.Shutdown(SocketShutdown.Both);

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.Request, false, 502), (outcome.Error, outcome.CanRetry, outcome.AnswerStatus));
    }

    [Fact]
    public async Task Request_whose_body_is_larger_than_the_replay_limit_is_never_offered_for_a_retry()
    {
        await using var harness = await ExchangeHarness.StartAsync(
            new HttpForwarderOptions { Forwarding = ForwardingMode.Copy, MaxReplayBody = 1 }, replayable: true);
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        Assert.Equal("hi", await backend.ReadAsync(2));
        backend.Socket.Shutdown(SocketShutdown.Both);

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.Request, false, 502), (outcome.Error, outcome.CanRetry, outcome.AnswerStatus));
    }

    [Fact]
    public async Task No_response_byte_within_the_timeout_on_a_replayable_request_is_offered_for_a_retry()
    {
        // The retry waits as long as a proxy's default would: with the first attempt's 300 ms it raced the test's own
        // accept, read and answer of the retried request, and lost on a loaded machine (a 504 instead of the 200).
        await using var harness = await ExchangeHarness.StartAsync(
            new HttpForwarderOptions { Forwarding = ForwardingMode.Copy, ResponseTimeout = TimeSpan.FromMilliseconds(300) }, replayable: true,
            retryOptions: new HttpForwarderOptions { Forwarding = ForwardingMode.Copy, ResponseTimeout = TimeSpan.FromSeconds(30) });
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
        using var silent = await harness.AcceptBackendAsync();
        string head = await silent.ReadHeadAsync();

        var first = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.RequestTimedOut, true, 504), (first.Error, first.CanRetry, first.AnswerStatus));
        var fresh = await harness.AcceptBackendAsync();
        Assert.Equal(head, await fresh.ReadHeadAsync());
        await fresh.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", await client.ReadThroughAsync("ok"));
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
    }
}
