using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using static Fastsock.Tests.Proxy.AdminStatsTests;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// Clients that leave while their response body is streaming (the head and part of the body already read): the proxy
/// reads the rest and discards it when it fits <c>http.maxDrainBody</c> counted from where the client left, and the next
/// requests go on the same backend connection; a longer rest closes it, spliced or not (HttpClientLeftInsideSplicedBodyTests:
/// a spliced rest within the bound is drained).
/// </summary>
/// <remarks>
/// The rest is 4 MiB, more than the proxy reads from a socket at once (1 MiB), so the client's departure is met inside
/// the body, never only after it; the client closes with a reset, as one that closes with the body unread does.
/// </remarks>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class HttpClientLeftInsideBodyTests : HttpProxyHarness
{
    private const int Part = 1000;
    private const int Rest = 4 * 1024 * 1024;
    private const int Next = 4;

    [Theory]
    [MemberData(nameof(Support.CoreSets.OneAndTwoWorkers), MemberType = typeof(Support.CoreSets))]
    public async Task A_client_leaving_inside_a_body_whose_rest_fits_the_bound_leaves_the_connection_to_the_next_requests(string cores)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(c => AnswerAsync(c, release.Task));
        var (web, admin) = await StartAsync(backend.Port, cores, """ "forwarding": "copy", "http": { "maxDrainBody": 8388608 }, """);

        await ReadPartThenResetAsync(web);
        release.SetResult();

        using var adminClient = await Samples.RawHttpClient.ConnectAsync(admin);
        var kept = Connections(await PollJsonAsync(adminClient, s => Connections(s).GetProperty("drained").GetInt64() == 1
            && Connections(s).GetProperty("idle").GetInt64() == 1));
        Assert.Equal((1, 0), (kept.GetProperty("opened").GetInt64(), kept.GetProperty("closed").GetInt64()));

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
        int workers = cores == Support.CoreSets.FirstText ? 1 : 2;
        long openedAgain = after.GetProperty("opened").GetInt64() - 1;
        Assert.True(openedAgain <= workers - 1, $"{openedAgain} backend connections opened for {Next} requests after the drained one");
        Assert.True(backend.Accepted <= workers, $"the backend accepted {backend.Accepted} connections");
        Assert.Equal(Next, after.GetProperty("reused").GetInt64() + openedAgain);
        Assert.Equal(0, after.GetProperty("closed").GetInt64());
    }

    [Theory]
    [InlineData("copy")]
    [InlineData("auto")] // the body is spliced: the splice fails on the client's side, and the 4 MiB rest is over the bound
    public async Task A_client_leaving_inside_a_body_whose_rest_is_over_the_bound_closes_the_connection_and_the_next_request_opens_one(string forwarding)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(c => AnswerAsync(c, release.Task));
        var (web, admin) = await StartAsync(backend.Port, Support.CoreSets.FirstText, $$""" "forwarding": "{{forwarding}}", "http": { "spliceThreshold": 65536 }, """);

        await ReadPartThenResetAsync(web);
        release.SetResult();

        using var adminClient = await Samples.RawHttpClient.ConnectAsync(admin);
        var closed = Connections(await PollJsonAsync(adminClient, s => Connections(s).GetProperty("closed").GetInt64() == 1
            && Frontend(s, "web").GetProperty("current").GetInt64() == 0));
        Assert.Equal((0, 0), (closed.GetProperty("drained").GetInt64(), closed.GetProperty("idle").GetInt64()));
        // The client left; the server did nothing wrong: no failure counted against it (passive health would see one).
        var failures = Server(await PollJsonAsync(adminClient, _ => true), "b", "server0").GetProperty("failures");
        Assert.Equal(0, failures.GetProperty("reset").GetInt64());

        string answer = await ExchangeUntilCloseAsync(web, "GET /next/0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.EndsWith("\r\n\r\nnext 0", answer, StringComparison.Ordinal);
        Assert.Equal(2, backend.Accepted);
    }

    /// <summary>
    /// The backend: <c>/big</c> gets its head and the first <see cref="Part"/> bytes at once, the other
    /// <see cref="Rest"/> once <paramref name="release"/> completes; anything else a short body naming it.
    /// </summary>
    private static async Task AnswerAsync(RawBackend.Conversation c, Task release)
    {
        while (true)
        {
            string path = (await c.ReadHeadAsync()).Split(' ')[1];
            if (path == "/big")
            {
                await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {Part + Rest}\r\n\r\n{new string('p', Part)}");
                await release;
                await c.SendAsync(new string('r', Rest));
                continue;
            }

            string body = $"next {path[(path.LastIndexOf('/') + 1)..]}";
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        }
    }

    /// <summary>A client that asks for <c>/big</c>, reads the head and the first part of the body, then resets.</summary>
    private static async Task ReadPartThenResetAsync(IPEndPoint web)
    {
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(web);
        await client.SendAsync(Encoding.ASCII.GetBytes("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"), SocketFlags.None);
        var received = new List<byte>();
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int headEnd;
        while ((headEnd = IndexOfEndOfHead(received)) < 0 || received.Count < headEnd + Part)
        {
            int n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.True(n > 0, $"the proxy closed after {received.Count} bytes");
            received.AddRange(buffer.AsSpan(0, n));
        }

        string head = Encoding.Latin1.GetString(received.ToArray(), 0, headEnd);
        Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
        Assert.Contains($"\r\nContent-Length: {Part + Rest}\r\n", head, StringComparison.Ordinal);
        client.LingerState = new LingerOption(true, 0);
    }

    private static int IndexOfEndOfHead(List<byte> received)
    {
        int at = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(received).IndexOf("\r\n\r\n"u8);
        return at < 0 ? -1 : at + 4;
    }

    private static JsonElement Connections(JsonElement stats) => Server(stats, "b", "server0").GetProperty("connections");

    private async Task<(IPEndPoint Web, IPEndPoint Admin)> StartAsync(int backendPort, string cores, string more)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, {{more}}
              "timeouts": { "server": "10s", "httpRequest": "10s", "connect": "1s" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ] }
            """, cores: cores);
        return (await proxy.ListeningOnAsync("frontend web"), await proxy.ListeningOnAsync("admin"));
    }
}
