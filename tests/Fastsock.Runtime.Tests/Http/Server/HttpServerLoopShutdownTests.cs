using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Http.Server;

/// <summary>Graceful shutdown: the response in flight is finished, says "Connection: close", and nothing more is served.</summary>
public sealed class HttpServerLoopShutdownTests
{
    [Fact]
    public async Task Shutdown_finishes_the_response_in_flight_then_closes_without_serving_the_pipelined_request()
    {
        var (server, app) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n");
        await app.SlowEntered.Task.WaitAsync(Clients.Timeout);

        var stopping = server.StopAsync(); // /slow answers once its connection sees the shutdown
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("finished", response.Body);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.IsClosedByServerAsync());
        await stopping.WaitAsync(Clients.Timeout);
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors + w.Aborted));
    }

    [Fact]
    public async Task Shutdown_closes_an_idle_keep_alive_connection()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        using var client = await RawHttpClient.ConnectAsync(server.EndPoints[0]);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal("Hello, World!", (await client.ReadResponseAsync()).Body);

        await server.StopAsync().WaitAsync(Clients.Timeout);
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal(0, server.GetStats().Sum(w => w.Aborted));
    }
}
