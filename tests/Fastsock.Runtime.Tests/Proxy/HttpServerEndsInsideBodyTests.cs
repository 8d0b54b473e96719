using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fastsock.Tests.Support;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The proxy process: a server that announces a large Content-Length and closes its connection before sending all of it
/// cuts the response short the same way whether the body is spliced or copied. The client gets every byte the server
/// sent, then an orderly close (a FIN, not a reset), the server's connection is closed and not pooled, and the stats
/// count the same failure against the server.
/// </summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpServerEndsInsideBodyTests : HttpProxyHarness
{
    private const int Part = 1000;
    private const int Half = 256 * 1024;
    private const int Length = Part + (2 * Half);

    public static TheoryData<string, string> CoresAndForwarding
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add(cores, "splice");
            }

            data.Add(CoreSets.FirstText, "copy"); // what the spliced case must match
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(CoresAndForwarding))]
    public async Task A_server_closing_inside_a_large_body_gives_the_client_what_it_sent_then_a_fin_and_is_counted_as_the_copy_path_counts_it(string cores, string forwarding)
    {
        var more = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(c => AnswerAsync(c, more.Task));
        var (web, admin) = await StartAsync(backend.Port, cores, forwarding);

        var (head, body, reset) = await Clients.GetUntilCloseAsync(web, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", more, Part);

        Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
        Assert.Contains($"\r\nContent-Length: {Length}\r\n", head, StringComparison.Ordinal);
        Assert.Equal((Part + Half, false), (body, reset)); // every byte the server sent, then a FIN: the response is cut short

        using var adminClient = await Samples.RawHttpClient.ConnectAsync(admin);
        var stats = await PollJsonAsync(adminClient, s => Failures(s).GetProperty("reset").GetInt64() == 1
            && Connections(s).GetProperty("closed").GetInt64() == 1 && Frontend(s, "web").GetProperty("current").GetInt64() == 0);
        Assert.Equal((1, 0), (Failures(stats).GetProperty("reset").GetInt64(), Failures(stats).GetProperty("responseTimeout").GetInt64()));
        Assert.Equal((1, 1, 0), (Connections(stats).GetProperty("opened").GetInt64(), Connections(stats).GetProperty("closed").GetInt64(), Connections(stats).GetProperty("idle").GetInt64()));
        Assert.Equal(forwarding == "splice", BytesSpliced(stats) >= Half);

        // The next request needs a new connection: the one that ended early was closed, not pooled.
        var (nextHead, nextBody, _) = await Clients.GetUntilCloseAsync(web, "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 ", nextHead, StringComparison.Ordinal);
        Assert.Equal(4, nextBody);
        Assert.Equal(2, backend.Accepted);
    }

    /// <summary>
    /// The server: <c>/big</c> gets its head and <see cref="Part"/> bytes, then, once the client has them (the splice has
    /// started: it wrote them), <see cref="Half"/> more when <paramref name="more"/> completes, then the close, short of
    /// the length it announced. Anything else: "next".
    /// </summary>
    private static async Task AnswerAsync(RawBackend.Conversation c, Task more)
    {
        string path = (await c.ReadHeadAsync()).Split(' ')[1];
        if (path != "/big")
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnext");
            return;
        }

        await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {Length}\r\n\r\n{new string('p', Part)}");
        await more;
        await c.SendAsync(new string('h', Half));
        c.Socket.Shutdown(SocketShutdown.Send);
    }

    private static JsonElement Failures(JsonElement stats) => Server(stats, "b", "server0").GetProperty("failures");

    private static JsonElement Connections(JsonElement stats) => Server(stats, "b", "server0").GetProperty("connections");

    private async Task<(IPEndPoint Web, IPEndPoint Admin)> StartAsync(int backendPort, string cores, string forwarding)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "forwarding": "{{forwarding}}",
              "http": { "spliceThreshold": 65536 },
              "timeouts": { "server": "30s", "client": "60s", "httpRequest": "10s", "connect": "1s" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ] }
            """, cores: cores);
        return (await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }
}
