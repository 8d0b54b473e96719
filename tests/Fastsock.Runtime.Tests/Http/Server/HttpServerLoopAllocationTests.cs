using Fastsock.Tests.Support;
using Xunit.Abstractions;

namespace Fastsock.Tests.Http.Server;

/// <summary>
/// Keep-alive requests through the server loop (epoll, pipes, parse, app, writev) allocate nothing in the whole process.
/// The probe warms up first and passes on any clean window of 20,000 requests, so a pool that grows once (or a
/// runtime event) cannot fail it, while an allocation per request shows in every window.
/// </summary>
public sealed class HttpServerLoopAllocationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    public async Task Keep_alive_requests_allocate_nothing_in_the_process(int batch)
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        await KeepAliveAllocationProbe.AssertAllocatesNothingAsync(server.EndPoints[0], batch, output);
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
    }

    [Fact]
    public async Task Keep_alive_requests_on_32_connections_at_once_allocate_nothing_in_the_process()
    {
        var (server, _) = await LoopTestApp.StartAsync();
        await using var _server = server;
        await KeepAliveAllocationProbe.AssertAllocatesNothingAsync(server.EndPoints[0], batch: 1, output, connections: 32);
        Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
    }
}
