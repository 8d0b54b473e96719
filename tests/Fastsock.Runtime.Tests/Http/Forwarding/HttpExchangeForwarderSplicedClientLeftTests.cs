using System.Net.Sockets;
using Fastsock.Http.Proxying;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>
/// A client that leaves while its response body is spliced (<see cref="ForwardingMode.Splice"/>, a Content-Length above
/// the threshold): when what it did not get, the bytes in the splice's kernel pipe included, fits
/// <see cref="HttpForwarderOptions.MaxDrainBody"/>, the backend connection is given back, the rest read and discarded
/// under the response timeout, and the connection carries the next request with nothing stale on it; over the bound, or
/// when the rest stops coming, it is closed.
/// </summary>
/// <remarks>
/// The client gets the head with the first <see cref="Part"/> bytes (written from the backend's input pipe), then
/// <see cref="Spliced"/> bytes through the kernel pipe, and resets; only then does the backend send the
/// <see cref="Rest"/>. So the client got exactly <see cref="Part"/> + <see cref="Spliced"/> bytes, the splice's first
/// write after the reset fails, and what it did not deliver is exactly <see cref="Rest"/>, whatever share of it sits in
/// the kernel pipe (256 KiB, less than the rest: part is dropped with the pipe, the remainder read from the socket).
/// </remarks>
public sealed class HttpExchangeForwarderSplicedClientLeftTests
{
    private const int Part = 1000;
    private const int Spliced = 64 * 1024;
    private const int Rest = 4 * 1024 * 1024;
    private const int Length = Part + Spliced + Rest;
    private const int NextSize = 100_000;

    [Theory]
    [InlineData(Rest)] // exactly what the client did not get: the kernel pipe's bytes count as read, not as still to come
    [InlineData(8 * 1024 * 1024)]
    public async Task Client_leaving_inside_a_spliced_body_whose_rest_fits_the_bound_leaves_the_backend_connection_to_the_next_request(long bound)
    {
        await using var harness = await ExchangeHarness.StartAsync(Options(bound), keepBackend: true);
        var (client, backend) = await ReadSomeOfTheBodyAsync(harness);

        Reset(client);
        await backend.SendAsync(Body('r', Rest));

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal(
            (HttpForwarderError.ResponseBodyClient, 200, 0, false, true, true),
            (outcome.Error, outcome.StatusCode, outcome.AnswerStatus, outcome.ClientKeepAlive, outcome.BackendReusable, outcome.BackendDrained));
        Assert.True(harness.BytesSpliced >= Spliced, $"{harness.BytesSpliced} bytes spliced: the body was not spliced");
        await NextSplicedResponseComesExactOnTheSameConnectionAsync(harness, backend);
    }

    [Theory]
    [InlineData(Rest - 1)]
    [InlineData(64 * 1024)]
    [InlineData(0)]
    public async Task Client_leaving_inside_a_spliced_body_whose_rest_is_over_the_bound_closes_the_backend_connection(long bound)
    {
        await using var harness = await ExchangeHarness.StartAsync(Options(bound), keepBackend: true);
        var (client, backend) = await ReadSomeOfTheBodyAsync(harness);

        Reset(client);
        var rest = SendUntilClosedAsync(backend, Body('r', Rest));

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal(
            (HttpForwarderError.ResponseBodyClient, false, false, false),
            (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable, outcome.BackendDrained));
        Assert.True(await backend.EndsAsync());
        await rest;
    }

    [Fact]
    public async Task Client_leaving_inside_a_spliced_body_whose_rest_stops_coming_closes_the_backend_connection_at_the_response_timeout()
    {
        await using var harness = await ExchangeHarness.StartAsync(Options(8 * 1024 * 1024, TimeSpan.FromSeconds(5)), keepBackend: true);
        var (client, backend) = await ReadSomeOfTheBodyAsync(harness);

        Reset(client);
        await backend.SendAsync(Body('r', Rest / 2)); // and nothing more: the drain waits for the other half in vain

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal(
            (HttpForwarderError.ResponseBodyClient, false, false, false),
            (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable, outcome.BackendDrained));
        Assert.True(await backend.EndsAsync());
    }

    private static HttpForwarderOptions Options(long bound, TimeSpan? responseTimeout = null) => new()
    {
        Forwarding = ForwardingMode.Splice,
        SpliceThreshold = 4096,
        MaxDrainBody = bound,
        ResponseTimeout = responseTimeout ?? TimeSpan.FromSeconds(30),
    };

    /// <summary>A client asks for the body; it gets the head, <see cref="Part"/> bytes, then <see cref="Spliced"/> bytes, all read.</summary>
    private static async Task<(Peer Client, Peer Backend)> ReadSomeOfTheBodyAsync(ExchangeHarness harness)
    {
        var client = await harness.ConnectClientAsync();
        await client.SendAsync("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        string head = $"HTTP/1.1 200 OK\r\nContent-Length: {Length}\r\n\r\n";
        await backend.SendAsync(head + Body('p', Part));
        Assert.Equal(head, await client.ReadHeadAsync());
        Assert.Equal(Body('p', Part), await client.ReadAsync(Part));
        await backend.SendAsync(Body('s', Spliced));
        Assert.Equal(Body('s', Spliced), await client.ReadAsync(Spliced));
        return (client, backend);
    }

    /// <summary>
    /// The next client's request reaches the backend on the connection the left one used, and its body, spliced too
    /// (sent once the head is with the client), arrives byte for byte: nothing of the discarded rest was left on it.
    /// </summary>
    private static async Task NextSplicedResponseComesExactOnTheSameConnectionAsync(ExchangeHarness harness, Peer backend)
    {
        long splicedBefore = harness.BytesSpliced;
        var next = await harness.ConnectClientAsync();
        await next.SendAsync("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        Assert.StartsWith("GET /next HTTP/1.1\r\n", await backend.ReadHeadAsync(), StringComparison.Ordinal);
        string head = $"HTTP/1.1 200 OK\r\nContent-Length: {NextSize}\r\n\r\n";
        string body = Pattern(NextSize);
        await backend.SendAsync(head);
        Assert.Equal(head, await next.ReadHeadAsync());
        await backend.SendAsync(body);
        Assert.Equal(body, await next.ReadAsync(NextSize));

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal((HttpForwarderError.None, true, true), (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable));
        Assert.True(harness.BytesSpliced > splicedBefore, "the next body was not spliced");
    }

    /// <summary>Closes with a reset (what a client closing with the body unread sends), so the proxy's next write fails.</summary>
    private static void Reset(Peer client)
    {
        client.Socket.LingerState = new LingerOption(true, 0);
        client.Dispose();
    }

    /// <summary>Sends what the kernel takes before the proxy closes the connection (a reset then ends the send).</summary>
    private static async Task SendUntilClosedAsync(Peer backend, string text)
    {
        try
        {
            await backend.SendAsync(text);
        }
        catch (SocketException)
        {
        }
    }

    private static string Body(char fill, int size) => new(fill, size);

    private static string Pattern(int size) =>
        string.Create(size, 0, static (span, _) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + (i % 23));
            }
        });
}
