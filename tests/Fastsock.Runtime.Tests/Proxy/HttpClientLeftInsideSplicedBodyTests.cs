using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Fastsock.Tests.Support;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The proxy process, <c>forwarding: splice</c>: a client that leaves while its response body is spliced (after part of
/// it came through the kernel pipe) costs no backend connection when the rest fits <c>http.maxDrainBody</c>: the
/// connection is counted as drained, kept idle, and carries the next requests.
/// </summary>
/// <remarks>
/// The backend sends the head with <see cref="Part"/> bytes, then <see cref="Spliced"/> bytes once the client has read
/// those, then the <see cref="Rest"/> (4 MiB, more than the splice's kernel pipe) once the client has reset: the splice
/// fails on the client's side with the rest undelivered.
/// </remarks>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpClientLeftInsideSplicedBodyTests : HttpProxyHarness
{
    private const int Part = 1000;
    private const int Spliced = 64 * 1024;
    private const int Rest = 4 * 1024 * 1024;
    private const int Next = 4;

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_client_leaving_inside_a_spliced_body_whose_rest_fits_the_bound_leaves_the_connection_to_the_next_requests(string cores)
    {
        var more = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(c => AnswerAsync(c, more.Task, release.Task));
        var (web, admin) = await StartAsync(backend.Port, cores);

        using (var client = await ReadHeadAndPartAsync(web))
        {
            more.SetResult();
            Assert.Equal(Spliced, (await Clients.ReceiveExactlyAsync(client, Spliced)).Length);
            client.LingerState = new LingerOption(true, 0); // closing now resets: the splice's next write fails
        }

        release.SetResult();

        using var adminClient = await Samples.RawHttpClient.ConnectAsync(admin);
        var drained = await PollJsonAsync(adminClient, s => Connections(s).GetProperty("drained").GetInt64() == 1
            && Connections(s).GetProperty("idle").GetInt64() == 1);
        Assert.Equal((1, 0), (Connections(drained).GetProperty("opened").GetInt64(), Connections(drained).GetProperty("closed").GetInt64()));
        Assert.True(BytesSpliced(drained) >= Spliced, $"{BytesSpliced(drained)} bytes spliced: the body was not spliced");
        // The client left; the server did nothing wrong: no failure counted against it.
        Assert.Equal(0, Server(drained, "b", "server0").GetProperty("failures").GetProperty("reset").GetInt64());

        // One at a time, so a worker needs one connection at most: the one its left client used serves the next.
        for (int j = 0; j < Next; j++)
        {
            string body = $"next {j}";
            string answer = await ExchangeUntilCloseAsync(web, $"GET /next/{j} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 200 ", answer, StringComparison.Ordinal);
            Assert.Contains($"\r\nContent-Length: {body.Length}\r\n", answer, StringComparison.OrdinalIgnoreCase);
            Assert.EndsWith("\r\n\r\n" + body, answer, StringComparison.Ordinal);
        }

        var after = Connections(await PollJsonAsync(adminClient, s => Frontend(s, "web").GetProperty("current").GetInt64() == 0));
        int workers = cores == CoreSets.FirstText ? 1 : 2;
        long openedAgain = after.GetProperty("opened").GetInt64() - 1;
        Assert.True(openedAgain <= workers - 1, $"{openedAgain} backend connections opened for {Next} requests after the drained one");
        Assert.True(backend.Accepted <= workers, $"the backend accepted {backend.Accepted} connections");
        Assert.Equal(Next, after.GetProperty("reused").GetInt64() + openedAgain);
        Assert.Equal(0, after.GetProperty("closed").GetInt64());
    }

    /// <summary>
    /// The backend: <c>/big</c> gets its head and <see cref="Part"/> bytes at once, <see cref="Spliced"/> more when
    /// <paramref name="more"/> completes, the <see cref="Rest"/> when <paramref name="release"/> does; anything else a
    /// short body naming it.
    /// </summary>
    private static async Task AnswerAsync(RawBackend.Conversation c, Task more, Task release)
    {
        while (true)
        {
            string path = (await c.ReadHeadAsync()).Split(' ')[1];
            if (path == "/big")
            {
                await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {Part + Spliced + Rest}\r\n\r\n{new string('p', Part)}");
                await more;
                await c.SendAsync(new string('s', Spliced));
                await release;
                await c.SendAsync(new string('r', Rest));
                continue;
            }

            string body = $"next {path[(path.LastIndexOf('/') + 1)..]}";
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        }
    }

    /// <summary>A client that asks for <c>/big</c> and reads the head and the first <see cref="Part"/> bytes of the body.</summary>
    private static async Task<Socket> ReadHeadAndPartAsync(IPEndPoint web)
    {
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(web).WaitAsync(Clients.Timeout);
        await client.SendAsync(Encoding.ASCII.GetBytes("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"), SocketFlags.None);
        var received = new List<byte>();
        var buffer = new byte[1];
        int headEnd;
        while ((headEnd = IndexOfEndOfHead(received)) < 0)
        {
            // One byte at a time: nothing of the body beyond the head and the Part is taken from the socket here.
            int n = await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Clients.Timeout);
            Assert.True(n > 0, $"the proxy closed after {received.Count} bytes");
            received.Add(buffer[0]);
        }

        string head = Encoding.Latin1.GetString(received.ToArray(), 0, headEnd);
        Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
        Assert.Contains($"\r\nContent-Length: {Part + Spliced + Rest}\r\n", head, StringComparison.Ordinal);
        Assert.Equal(new string('p', Part), Encoding.Latin1.GetString(await Clients.ReceiveExactlyAsync(client, Part)));
        return client;
    }

    private static int IndexOfEndOfHead(List<byte> received)
    {
        int at = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(received).IndexOf("\r\n\r\n"u8);
        return at < 0 ? -1 : at + 4;
    }

    private static JsonElement Connections(JsonElement stats) => Server(stats, "b", "server0").GetProperty("connections");

    private async Task<(IPEndPoint Web, IPEndPoint Admin)> StartAsync(int backendPort, string cores)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "forwarding": "splice",
              "http": { "spliceThreshold": 65536, "maxDrainBody": 8388608 },
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "1s" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ] }
            """, cores: cores);
        return (await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }
}
