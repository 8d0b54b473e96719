using System.Net.Sockets;
using System.Text;
using Fastsock.Http.Proxying;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>
/// A client that leaves while its response body is being forwarded (the head and part of the body already with it):
/// the rest of the body is read and discarded when it fits <see cref="HttpForwarderOptions.MaxDrainBody"/> counted from
/// there, and the backend connection carries the next request; beyond the bound it is closed.
/// </summary>
/// <remarks>
/// The client resets its connection (it closes with the body unread), so the proxy's next write to it fails; the rest is
/// <see cref="Rest"/> bytes, more than the proxy reads at once (its input holds about 1 MiB), so the client's departure
/// is met at a flush inside the body, never only after its end.
/// </remarks>
public sealed class HttpExchangeForwarderClientLeftTests
{
    private const int Rest = 4 * 1024 * 1024;
    private const int Part = 1000;
    private static readonly HttpForwarderOptions LargeBound = new() { Forwarding = ForwardingMode.Copy, MaxDrainBody = 8 * 1024 * 1024 };

    [Fact]
    public async Task Client_leaving_inside_a_content_length_body_within_the_bound_leaves_the_backend_connection_for_the_next_request()
    {
        await using var harness = await ExchangeHarness.StartAsync(LargeBound, keepBackend: true);
        var (client, backend) = await StartResponseAsync(harness, "/big");
        await backend.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {Part + Rest}\r\n\r\n{Body(Part)}");
        Assert.Equal($"HTTP/1.1 200 OK\r\nContent-Length: {Part + Rest}\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal(Body(Part), await client.ReadAsync(Part));

        Reset(client);
        await backend.SendAsync(Body(Rest));

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal(
            (HttpForwarderError.ResponseBodyClient, 200, 0, false, true, true),
            (outcome.Error, outcome.StatusCode, outcome.AnswerStatus, outcome.ClientKeepAlive, outcome.BackendReusable, outcome.BackendDrained));
        await NextRequestGoesOnTheSameConnectionAsync(harness, backend);
    }

    [Fact]
    public async Task Client_leaving_inside_a_chunked_body_within_the_bound_leaves_the_backend_connection_for_the_next_request()
    {
        await using var harness = await ExchangeHarness.StartAsync(LargeBound, keepBackend: true);
        var (client, backend) = await StartResponseAsync(harness, "/chunks");
        await backend.SendAsync($"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{Part:X}\r\n{Body(Part)}\r\n");
        Assert.Equal("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal(Body(Part), await client.ReadChunkDataAsync(Part));

        Reset(client);
        await backend.SendAsync(Chunks(Rest) + "0\r\n\r\n");

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal(
            (HttpForwarderError.ResponseBodyClient, false, true, true),
            (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable, outcome.BackendDrained));
        await NextRequestGoesOnTheSameConnectionAsync(harness, backend);
    }

    [Theory]
    [InlineData(false, 64 * 1024)]
    [InlineData(true, 64 * 1024)]
    [InlineData(false, 0)]
    public async Task Client_leaving_inside_a_body_whose_rest_is_over_the_bound_closes_the_backend_connection(bool chunked, long bound)
    {
        await using var harness = await ExchangeHarness.StartAsync(new HttpForwarderOptions { Forwarding = ForwardingMode.Copy, MaxDrainBody = bound });
        var (client, backend) = await StartResponseAsync(harness, "/big");
        await backend.SendAsync(chunked
            ? $"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{Part:X}\r\n{Body(Part)}\r\n"
            : $"HTTP/1.1 200 OK\r\nContent-Length: {Part + Rest}\r\n\r\n{Body(Part)}");
        await client.ReadHeadAsync();
        Assert.Equal(Body(Part), chunked ? await client.ReadChunkDataAsync(Part) : await client.ReadAsync(Part));

        Reset(client);
        var rest = SendUntilClosedAsync(backend, chunked ? Chunks(Rest) + "0\r\n\r\n" : Body(Rest));

        var outcome = await harness.NextOutcomeAsync();
        Assert.Equal(
            (HttpForwarderError.ResponseBodyClient, false, false, false),
            (outcome.Error, outcome.ClientKeepAlive, outcome.BackendReusable, outcome.BackendDrained));
        Assert.True(await backend.EndsAsync());
        await rest;
    }

    private static async Task<(Peer Client, Peer Backend)> StartResponseAsync(ExchangeHarness harness, string path)
    {
        var client = await harness.ConnectClientAsync();
        await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: h\r\n\r\n");
        var backend = await harness.AcceptBackendAsync();
        await backend.ReadHeadAsync();
        return (client, backend);
    }

    /// <summary>The next client's request reaches the backend on the connection the left one used, and its answer is exact.</summary>
    private static async Task NextRequestGoesOnTheSameConnectionAsync(ExchangeHarness harness, Peer backend)
    {
        var next = await harness.ConnectClientAsync();
        await next.SendAsync("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        Assert.StartsWith("GET /next HTTP/1.1\r\n", await backend.ReadHeadAsync(), StringComparison.Ordinal);
        await backend.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext", await next.ReadThroughAsync("next"));
        Assert.Equal(HttpForwarderError.None, (await harness.NextOutcomeAsync()).Error);
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

    private static string Body(int size) => new('b', size);

    /// <summary>Chunks of 64 KiB (and what is left) carrying <paramref name="size"/> bytes of data.</summary>
    private static string Chunks(int size)
    {
        var text = new StringBuilder();
        for (int left = size; left > 0; left -= 64 * 1024)
        {
            int chunk = Math.Min(left, 64 * 1024);
            text.Append($"{chunk:X}\r\n").Append('c', chunk).Append("\r\n");
        }

        return text.ToString();
    }
}
