using System.Diagnostics;
using System.Net.Sockets;
using Fastsock.Http.Proxying;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>
/// A response body spliced (<see cref="ForwardingMode.Splice"/>, a Content-Length above the threshold) is bounded by
/// <see cref="HttpForwarderOptions.ResponseTimeout"/> as a copied one is: a backend that stops sending inside it ends
/// the exchange after that long (not after the sockets' idle timeout, 2 minutes here), and its connection is closed;
/// a backend slower than the timeout in total but never silent that long, or a client that holds the body up, is not cut.
/// </summary>
public sealed class HttpExchangeForwarderSplicedStallTests
{
    private const int Part = 1000;
    private const int Spliced = 64 * 1024;
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(3);

    [Theory]
    [InlineData(ForwardingMode.Splice)]
    [InlineData(ForwardingMode.Copy)] // the same outcome as the copy path's, which bounds each read
    public async Task Backend_stalling_inside_a_large_body_ends_the_exchange_at_the_response_timeout_and_its_connection_is_not_reused(ForwardingMode mode)
    {
        await using var harness = await ExchangeHarness.StartAsync(Options(mode), keepBackend: true);
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        string head = $"HTTP/1.1 200 OK\r\nContent-Length: {Part + (2 * Spliced)}\r\n\r\n";
        await backend.SendAsync(head + Body('p', Part));
        Assert.Equal(head, await client.ReadHeadAsync());
        Assert.Equal(Body('p', Part), await client.ReadAsync(Part));

        // Half the body (through the kernel pipe when spliced), then nothing: the clock starts before the last byte leaves the backend.
        var silence = Stopwatch.StartNew();
        await backend.SendAsync(Body('s', Spliced));
        Assert.Equal(Body('s', Spliced), await client.ReadAsync(Spliced));
        if (mode == ForwardingMode.Splice)
        {
            // The worker counts spliced bytes just after each splice(2) returns, so the client may read them before they
            // are counted (seen once in a CI run): wait for the count, as the exchange goes on (the stall) here.
            await Eventually.AssertAsync(() => harness.BytesSpliced >= Spliced, () => $"{harness.BytesSpliced} bytes spliced: the body was not spliced");
        }
        else
        {
            Assert.Equal(0, harness.BytesSpliced);
        }

        var outcome = await harness.NextOutcomeAsync();
        var after = silence.Elapsed;
        Assert.Equal(
            (HttpForwarderError.ResponseBodyTimedOut, 200, 0, false, false, false),
            (outcome.Error, outcome.StatusCode, outcome.AnswerStatus, outcome.ClientKeepAlive, outcome.BackendReusable, outcome.BackendDrained));
        Assert.True(
            after >= ResponseTimeout - TimeSpan.FromMilliseconds(Clients.CoarseClockSlackMs),
            $"the exchange ended {after.TotalMilliseconds} ms into the silence, before the {ResponseTimeout.TotalMilliseconds} ms response timeout");
        Assert.True(after < TimeSpan.FromSeconds(20), $"the exchange ended {after.TotalSeconds} s into the silence: not bounded by the response timeout");

        // The client is closed with a FIN after what it got, as after a copied body; the backend connection is closed.
        Assert.Equal("", await client.ReadToEndAsync());
        Assert.True(await backend.EndsAsync(), "the stalled backend connection was left open");

        // The next exchange needs a new backend connection: the stalled one was not kept for it.
        var next = await harness.ConnectClientAsync();
        await next.SendAsync("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        var fresh = await harness.AcceptBackendAsync();
        Assert.StartsWith("GET /next HTTP/1.1\r\n", await fresh.ReadHeadAsync(), StringComparison.Ordinal);
        await fresh.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        Assert.EndsWith("\r\n\r\nok", await next.ReadThroughAsync("\r\n\r\n") + await next.ReadAsync(2), StringComparison.Ordinal);
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
    }

    [Fact]
    public async Task Backend_sending_a_spliced_body_slowly_but_steadily_past_the_response_timeout_delivers_it_byte_exact()
    {
        const int Pieces = 16;
        const int PieceSize = 16 * 1024;
        var gap = TimeSpan.FromMilliseconds(250); // a twelfth of the timeout; sixteen of them are longer than it
        await using var harness = await ExchangeHarness.StartAsync(Options(ForwardingMode.Splice));
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        string body = Pattern(Pieces * PieceSize);
        string head = $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n";
        await backend.SendAsync(head);
        Assert.Equal(head, await client.ReadHeadAsync());

        var received = client.ReadAsync(body.Length);
        var sending = Stopwatch.StartNew();
        for (int i = 0; i < Pieces; i++)
        {
            await Task.Delay(gap); // pacing, not a proof: the proof is the body and the outcome below
            await backend.SendAsync(body.Substring(i * PieceSize, PieceSize));
        }

        Assert.True(sending.Elapsed > ResponseTimeout, $"the body took {sending.Elapsed.TotalMilliseconds} ms: not longer than the timeout");
        Assert.Equal(body, await received);
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, true, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
        Assert.True(harness.BytesSpliced >= body.Length - PieceSize, $"{harness.BytesSpliced} bytes spliced: the body was not spliced");
    }

    [Fact]
    public async Task Client_not_reading_a_spliced_body_for_longer_than_the_response_timeout_is_not_a_backend_timeout()
    {
        const int Size = 32 * 1024 * 1024; // far more than the buffers on the way hold: the backend is held up by the client
        await using var harness = await ExchangeHarness.StartAsync(Options(ForwardingMode.Splice));
        var client = await harness.ConnectClientAsync();
        client.Socket.ReceiveBufferSize = 64 * 1024;
        await client.SendAsync("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        backend.Socket.SendBufferSize = 64 * 1024;
        await backend.ReadHeadAsync();
        byte[] body = Bytes(Size);
        string head = $"HTTP/1.1 200 OK\r\nContent-Length: {Size}\r\n\r\n";
        await backend.SendAsync(head);
        Assert.Equal(head, await client.ReadHeadAsync());

        var sent = backend.Socket.SendAsync(body, SocketFlags.None);
        await Task.Delay(ResponseTimeout * 2); // the client reads nothing meanwhile: the splice waits on it, not on the backend
        Assert.False(sent.IsCompleted, "the whole body fit in the buffers: the client held nothing up");

        byte[] received = await Clients.ReceiveExactlyAsync(client.Socket, Size);
        Assert.True(body.AsSpan().SequenceEqual(received), "the body arrived altered");
        await sent.WaitAsync(Clients.Timeout);
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, true, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
    }

    private static HttpForwarderOptions Options(ForwardingMode mode) => new()
    {
        Forwarding = mode,
        SpliceThreshold = 4096,
        ResponseTimeout = ResponseTimeout,
    };

    private static string Body(char fill, int size) => new(fill, size);

    private static byte[] Bytes(int size)
    {
        var bytes = new byte[size];
        for (int i = 0; i < size; i++)
        {
            bytes[i] = (byte)(i % 251);
        }

        return bytes;
    }

    private static string Pattern(int size) =>
        string.Create(size, 0, static (span, _) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + (i % 23));
            }
        });
}
