using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// Clients that leave while the server is answering: the proxy reads the rest of the response, discards it and keeps the
/// backend connection (HAProxy's way), unless the response is larger than the bound; the next clients get their own
/// responses byte for byte, nothing of a discarded one.
/// </summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpClientAbortDrainTests : HttpProxyHarness
{
    private const int Leaving = 4;
    private const int Next = 6;

    [Theory]
    [MemberData(nameof(Support.CoreSets.OneAndTwoWorkers), MemberType = typeof(Support.CoreSets))]
    public async Task Clients_leaving_before_small_responses_leave_the_backend_connections_pooled_and_the_next_clients_get_exact_responses(string cores)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int arrived = 0;
        await using var backend = new RawBackend(async c =>
        {
            while (true)
            {
                string path = PathOf(await c.ReadHeadAsync());
                if (path.StartsWith("/slow/", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref arrived);
                    await release.Task; // the server answers once its clients have gone
                }

                await c.SendAsync(ResponseFor(path));
            }
        });
        var (web, admin) = await StartAsync(backend.Port, cores);

        var leaving = new List<(Socket Socket, IPEndPoint Local)>();
        for (int i = 0; i < Leaving; i++)
        {
            var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(web);
            await client.SendAsync(Encoding.ASCII.GetBytes($"GET /slow/{i} HTTP/1.1\r\nHost: x\r\n\r\n"));
            leaving.Add((client, (IPEndPoint)client.LocalEndPoint!));
        }

        Assert.True(await Support.Eventually.HoldsAsync(() => Volatile.Read(ref arrived) == Leaving), $"{arrived} of {Leaving} requests reached the server");
        foreach (var (socket, _) in leaving)
        {
            socket.Dispose();
        }

        foreach (var (_, local) in leaving)
        {
            await TcpStates.WaitForCloseWaitAsync(local, web); // the proxy has every client's FIN before the answers
        }

        release.SetResult();
        using var adminClient = await Samples.RawHttpClient.ConnectAsync(admin);
        // CLOSE_WAIT says the kernel has each FIN, not that the worker read it before the answer came: a client whose
        // FIN the worker had not yet read gets its answer written (a 2xx), which keeps the connection too. Either way
        // no backend connection may be closed; an abort seen in time must be drained.
        var json = await PollJsonAsync(adminClient, s => Connections(s).GetProperty("idle").GetInt64() == Leaving
            && Web(s).GetProperty("clientAborts").GetInt64() + Web(s).GetProperty("responses2xx").GetInt64() == Leaving);
        long aborts = Web(json).GetProperty("clientAborts").GetInt64();
        var kept = Connections(json);
        Assert.Equal(aborts, kept.GetProperty("drained").GetInt64());
        Assert.Equal(Leaving, aborts + Web(json).GetProperty("responses2xx").GetInt64());
        Assert.Equal(Leaving, kept.GetProperty("opened").GetInt64());
        Assert.Equal(0, kept.GetProperty("closed").GetInt64());
        Assert.Equal(Leaving, kept.GetProperty("idle").GetInt64());

        // One at a time, so a worker needs one connection at most: what it holds idle serves them.
        for (int j = 0; j < Next; j++)
        {
            string answer = await ExchangeUntilCloseAsync(web, $"GET /next/{j} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            string body = BodyFor($"/next/{j}");
            Assert.StartsWith("HTTP/1.1 200 ", answer, StringComparison.Ordinal);
            Assert.Contains($"\r\nContent-Length: {body.Length}\r\n", answer, StringComparison.OrdinalIgnoreCase);
            Assert.EndsWith("\r\n\r\n" + body, answer, StringComparison.Ordinal);
        }

        var after = Connections(await PollJsonAsync(adminClient, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0));
        long openedAgain = after.GetProperty("opened").GetInt64() - Leaving;
        int workers = cores == Support.CoreSets.FirstText ? 1 : 2;
        Assert.True(openedAgain <= workers - 1, $"{openedAgain} backend connections opened for {Next} requests after the drained ones");
        Assert.Equal(Next, after.GetProperty("reused").GetInt64() + openedAgain);
        Assert.Equal(0, after.GetProperty("closed").GetInt64());
    }

    [Theory]
    [MemberData(nameof(Support.CoreSets.OneAndTwoWorkers), MemberType = typeof(Support.CoreSets))]
    public async Task A_client_leaving_before_a_response_larger_than_the_bound_closes_the_backend_connection(string cores)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var closedByProxy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            arrived.TrySetResult();
            await release.Task;
            try
            {
                await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {LargeBody}\r\n\r\n{new string('b', LargeBody)}");
                var buffer = new byte[64];
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                while (await c.Socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token) > 0)
                {
                }
            }
            catch (SocketException)
            {
                // A reset while sending: the proxy closed with the response unread, which is closing too.
            }

            closedByProxy.TrySetResult();
        });
        var (web, admin) = await StartAsync(backend.Port, cores);

        IPEndPoint local;
        using (var client = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(web);
            await client.SendAsync(Encoding.ASCII.GetBytes("GET /large HTTP/1.1\r\nHost: x\r\n\r\n"));
            local = (IPEndPoint)client.LocalEndPoint!;
            await arrived.Task.WaitAsync(TimeSpan.FromSeconds(15));
        }

        await TcpStates.WaitForCloseWaitAsync(local, web);
        release.SetResult();
        await closedByProxy.Task.WaitAsync(TimeSpan.FromSeconds(20));

        using var adminClient = await Samples.RawHttpClient.ConnectAsync(admin);
        // As above, the worker may read the FIN only after the answer started: then writing it fails (the client is
        // gone inside the body, over the bound) and the connection is closed as well. Either way it must not be kept,
        // and the server, which answered in full, is not blamed for it.
        var json = await PollJsonAsync(adminClient, s => Connections(s).GetProperty("closed").GetInt64() == 1
            && Frontend(s, "web").GetProperty("current").GetInt64() == 0);
        var connections = Connections(json);
        Assert.Equal(0, connections.GetProperty("drained").GetInt64());
        Assert.Equal(0, connections.GetProperty("idle").GetInt64());
        var server = Server(json, "b", "server0");
        Assert.True(server.GetProperty("http").GetProperty("clientAborts").GetInt64() <= 1);
        Assert.Equal(0, server.GetProperty("failures").GetProperty("reset").GetInt64());
    }

    private static JsonElement Web(JsonElement stats) => Frontend(stats, "web").GetProperty("http");

    private const int LargeBody = 200_000; // over the 64 KiB bound

    private static string PathOf(string head) => head.Split(' ')[1];

    /// <summary>A body that names its request, so a response that reached the wrong client shows.</summary>
    private static string BodyFor(string path) => $"{path}:" + new string((char)('a' + (path.Length % 26)), 3000) + $":{path}";

    /// <summary>The small responses: chunked for the odd abandoned ones, Content-Length for the others.</summary>
    private static string ResponseFor(string path)
    {
        string body = BodyFor(path);
        if (!path.StartsWith("/slow/", StringComparison.Ordinal) || path[^1] % 2 == 0)
        {
            return $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}";
        }

        int half = body.Length / 2;
        return $"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{half:X}\r\n{body[..half]}\r\n{body.Length - half:X}\r\n{body[half..]}\r\n0\r\n\r\n";
    }

    private static JsonElement Connections(JsonElement stats) => Server(stats, "b", "server0").GetProperty("connections");

    private async Task<(IPEndPoint Web, IPEndPoint Admin)> StartAsync(int backendPort, string cores)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" },
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "1s" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ] }
            """, cores: cores);
        return (await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }
}
