using Fastsock.Http.Proxying;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>Bodies through <see cref="HttpExchangeForwarder"/>, both ways, by each framing, cut across reads.</summary>
/// <remarks>
/// "Across reads" is made sure of, not hoped for: the second part of a body is sent only after the other side has
/// received what the proxy forwarded of the first.
/// </remarks>
public sealed class HttpExchangeForwarderBodyTests
{
    private const string Added = "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n";

    [Fact]
    public async Task Content_length_bodies_cut_across_reads_are_forwarded_both_ways_and_both_connections_carry_the_next_exchange()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
        var backend = await harness.AcceptBackendAsync();

        Assert.Equal($"POST /up HTTP/1.1\r\nHost: h\r\n{Added}Content-Length: 10\r\n\r\n", await backend.ReadHeadAsync());
        Assert.Equal("01234", await backend.ReadAsync(5));
        await client.SendAsync("56789");
        Assert.Equal("56789", await backend.ReadAsync(5));

        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal("abc", await client.ReadAsync(3));
        await backend.SendAsync("def");
        Assert.Equal("def", await client.ReadAsync(3));

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, 200, true, true, 0), (outcome.Error, outcome.StatusCode, outcome.ClientKeepAlive, outcome.BackendReusable, outcome.AnswerStatus));

        await client.SendAsync("GET /again HTTP/1.1\r\nHost: h\r\n\r\n");
        Assert.Equal($"GET /again HTTP/1.1\r\nHost: h\r\n{Added}\r\n", await backend.ReadHeadAsync());
        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal("x", await client.ReadAsync(1));
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
    }

    [Fact]
    public async Task Chunked_request_body_cut_inside_a_chunk_is_rechunked_to_the_backend_without_extensions_or_trailers()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
        var backend = await harness.AcceptBackendAsync();

        Assert.Equal($"POST /c HTTP/1.1\r\nHost: h\r\n{Added}Transfer-Encoding: chunked\r\n\r\n", await backend.ReadHeadAsync());
        Assert.Equal("hel", await backend.ReadChunkDataAsync(3));
        await client.SendAsync("lo\r\n6;name=value\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
        Assert.Equal("lo world", await backend.ReadChunkDataAsync(8));
        Assert.Equal("0\r\n\r\n", await backend.ReadAsync(5));

        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", await client.ReadHeadAsync());
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, true, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
    }

    [Fact]
    public async Task Chunked_response_cut_across_reads_is_rechunked_to_an_http11_client()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await backend.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npe");
        Assert.Equal("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal("wikipe", await client.ReadChunkDataAsync(6));
        await backend.SendAsync("dia\r\n0\r\n\r\n");
        Assert.Equal("dia", await client.ReadChunkDataAsync(3));
        Assert.Equal("0\r\n\r\n", await client.ReadAsync(5));

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, true, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
    }

    [Fact]
    public async Task Chunked_response_reaches_an_http10_client_decoded_and_delimited_by_the_close()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await backend.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n");

        Assert.Equal("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nwikipedia", await client.ReadToEndAsync());
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, false, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
    }

    [Fact]
    public async Task Response_of_an_http10_backend_without_length_runs_until_the_close_and_closes_both_sides()
    {
        await using var harness = await ExchangeHarness.StartAsync();
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();

        await backend.SendAsync("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal("first ", await client.ReadAsync(6));
        await backend.SendAsync("second");
        backend.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        Assert.Equal("second", await client.ReadToEndAsync());
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, 200, false, false), (outcome.Error, outcome.StatusCode, outcome.ClientKeepAlive, outcome.BackendReusable));
    }

    [Fact]
    public async Task Large_bodies_of_known_length_above_the_splice_threshold_arrive_intact_both_ways()
    {
        const int Size = 300 * 1024;
        await using var harness = await ExchangeHarness.StartAsync(new HttpForwarderOptions { Forwarding = ForwardingMode.Auto, SpliceThreshold = 4096 });
        string upload = Pattern(Size, 'a');
        string download = Pattern(Size, 'k');
        var client = await harness.ConnectClientAsync();
        var sending = client.SendAsync($"PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: {Size}\r\n\r\n{upload}");
        var backend = await harness.AcceptBackendAsync();

        Assert.Equal($"PUT /big HTTP/1.1\r\nHost: h\r\n{Added}Content-Length: {Size}\r\n\r\n", await backend.ReadHeadAsync());
        Assert.Equal(upload, await backend.ReadAsync(Size));
        await sending;
        var answering = backend.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {Size}\r\n\r\n{download}");
        Assert.Equal($"HTTP/1.1 200 OK\r\nContent-Length: {Size}\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal(download, await client.ReadAsync(Size));
        await answering;

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, true, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
    }

    private static string Pattern(int size, char first) =>
        string.Create(size, first, static (span, first) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (char)(first + (i % 13));
            }
        });
}
