using System.Net.Sockets;
using System.Text;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>Clients that leave before their response, and CONNECT, which this proxy does not tunnel.</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpClientAbortTests : HttpProxyHarness
{
    [Fact]
    public async Task With_abortOnClose_off_a_half_closed_client_still_gets_its_response()
    {
        var finReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await finReceived.Task; // the client's FIN reached the proxy while the server thinks
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        var (_, web, _) = await StartAsyncVia(backend.Port, abortOnClose: false);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(web);
        await client.SendAsync(Encoding.ASCII.GetBytes("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
        client.Shutdown(SocketShutdown.Send);
        await TcpStates.WaitForCloseWaitAsync((System.Net.IPEndPoint)client.LocalEndPoint!, web);
        finReceived.SetResult();
        var answer = new StringBuilder();
        var buffer = new byte[1024];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n;
        while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        Assert.StartsWith("HTTP/1.1 200 ", answer.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nok", answer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_gets_501_and_the_connection_closes()
    {
        await using var backend = new RawBackend(async c => await c.ReadHeadAsync());
        var (_, web, admin) = await StartAsyncVia(backend.Port);
        var answer = await ExchangeUntilCloseAsync(web, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 501 ", answer, StringComparison.Ordinal);
        Assert.Equal(0, backend.Accepted);

        using var adminClient = await Samples.RawHttpClient.ConnectAsync(admin);
        var json = await PollJsonAsync(adminClient, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0);
        Assert.Equal(1, Frontend(json, "web").GetProperty("http").GetProperty("proxyErrors501").GetInt64());
    }

    private async Task<(Support.SampleProcess Proxy, System.Net.IPEndPoint Web, System.Net.IPEndPoint Admin)> StartAsyncVia(int backendPort, bool abortOnClose = true)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "1s" },
              "http": { "abortOnClose": {{(abortOnClose ? "true" : "false")}} },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ] }
            """);
        return (proxy, await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }
}
