using System.Net.Sockets;
using Fastsock.Http.Proxying;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>
/// A backend that closes its connection inside a response body of known length ends the exchange the same way whether
/// the body is spliced or copied: <see cref="HttpForwarderError.ResponseBodyDestination"/>, the backend connection not
/// reusable, and the client left to its owner, who closes it in order: it reads every byte the backend sent, then EOF
/// (not a reset).
/// </summary>
public sealed class HttpExchangeForwarderBackendEndsInsideBodyTests
{
    private const int Part = 1000;
    private const int Spliced = 64 * 1024;

    [Theory]
    [InlineData(ForwardingMode.Splice)]
    [InlineData(ForwardingMode.Copy)] // what the spliced case must match
    public async Task Backend_closing_inside_a_large_body_gives_the_client_every_byte_sent_then_an_orderly_close(ForwardingMode mode)
    {
        await using var harness = await ExchangeHarness.StartAsync(
            new HttpForwarderOptions { Forwarding = mode, SpliceThreshold = 4096 }, keepBackend: true);
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        string head = $"HTTP/1.1 200 OK\r\nContent-Length: {Part + (2 * Spliced)}\r\n\r\n";
        await backend.SendAsync(head + new string('p', Part));
        Assert.Equal(head, await client.ReadHeadAsync());
        Assert.Equal(new string('p', Part), await client.ReadAsync(Part));

        // Half the body (through the kernel pipe when spliced: the splice has started, it wrote the part), then the close.
        await backend.SendAsync(new string('s', Spliced));
        backend.Socket.Shutdown(SocketShutdown.Send);

        Assert.Equal(new string('s', Spliced), await client.ReadAsync(Spliced));
        Assert.Equal("", await client.ReadToEndAsync()); // a reset would throw here
        Assert.Equal(mode == ForwardingMode.Splice, harness.BytesSpliced >= Spliced);
        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal(
            (HttpForwarderError.ResponseBodyDestination, 200, 0, false, false),
            (outcome.Error, outcome.StatusCode, outcome.AnswerStatus, outcome.ClientKeepAlive, outcome.BackendReusable));
        Assert.True(await backend.EndsAsync(), "the backend connection that ended early was left open");

        // The next exchange needs a new backend connection: the one that ended early was not kept for it.
        var next = await harness.ConnectClientAsync();
        await next.SendAsync("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        var fresh = await harness.AcceptBackendAsync();
        Assert.StartsWith("GET /next HTTP/1.1\r\n", await fresh.ReadHeadAsync(), StringComparison.Ordinal);
        await fresh.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        Assert.EndsWith("\r\n\r\nok", await next.ReadThroughAsync("\r\n\r\n") + await next.ReadAsync(2), StringComparison.Ordinal);
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
    }
}
