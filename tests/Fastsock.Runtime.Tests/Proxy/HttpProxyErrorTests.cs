using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>fastsock-proxy in http mode: the errors it answers itself (502, 503, 504, 400, 431, 408) and when it closes.</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpProxyErrorTests : HttpProxyHarness
{
    [Fact]
    public async Task Server_refusing_connections_gets_502()
    {
        var proxy = await StartProxyAsync(RefusingPort());
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal(502, (await client.ReadResponseAsync()).Status);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task With_every_server_down_by_health_checks_requests_get_503()
    {
        int port = RefusingPort();
        var (proxy, endPoint) = await StartProxyProcessAsync(
            $$"""[ { "address": "127.0.0.1:{{port}}" } ], "healthCheck": { "type": "tcp", "interval": "100ms", "timeout": "100ms", "fall": 1 }""");
        await proxy.WaitForLineAsync("is DOWN");
        using var client = await RawHttpClient.ConnectAsync(endPoint);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal(503, response.Status);
        Assert.Equal("Service Unavailable", response.Body);
    }

    [Fact]
    public async Task Server_that_never_answers_gets_504_after_the_server_timeout()
    {
        await using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await c.ReadHeadAsync(); // never answers: waits until the proxy gives up and closes
        });
        var proxy = await StartProxyAsync(backend.Port, serverTimeout: "500ms");
        using var client = await RawHttpClient.ConnectAsync(proxy);
        var clock = Stopwatch.StartNew(); // before the request: the server timeout starts once it is forwarded
        await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.Equal(504, (await client.ReadResponseAsync()).Status);
        Assert.InRange(clock.ElapsedMilliseconds, 500 - Clients.CoarseClockSlackMs, 9_000); // under the 10 s request timeout
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n")]
    public async Task Smuggling_attempts_get_400_and_the_connection_closes(string request)
    {
        var proxy = await StartProxyAsync(await StartNginxAsync());
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendIgnoringResetAsync(request);
        Assert.Equal(400, (await client.ReadResponseAsync()).Status);
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Oversized_header_fields_get_431()
    {
        var proxy = await StartProxyAsync(await StartNginxAsync());
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendIgnoringResetAsync($"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\n\r\n");
        Assert.Equal(431, (await client.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task Head_arriving_too_slowly_gets_408_and_the_connection_closes()
    {
        var proxy = await StartProxyAsync((await StartNginxAsync()).Port, requestTimeout: "300ms");
        var clock = Stopwatch.StartNew(); // before the connect: the request timeout starts at the proxy's accept
        using var client = await RawHttpClient.ConnectAsync(proxy);
        await client.SendAsync("GET /plaintext HTTP/1.1\r\nHost: x\r\n");
        Assert.Equal(408, (await client.ReadResponseAsync()).Status);
        Assert.InRange(clock.ElapsedMilliseconds, 300 - Clients.CoarseClockSlackMs, 9_000); // under the 10 s server timeout
        Assert.True(await client.IsClosedByServerAsync());
    }
}
