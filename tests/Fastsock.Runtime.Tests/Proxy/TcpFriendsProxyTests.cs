using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Friends;
using Fastsock.Transport.Friends;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// fastsock-proxy with TCP friends on, in a cgroup of the test's own: the test host joins it, so the proxy it starts, its
/// clients and its backends are all friends unless started before joining. Redirected data never reaches splice(2), so
/// every forwarding mode must still be byte-exact.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TcpFriendsProxyTests : HttpProxyHarness
{
    private const int Upload = 32 * 1024 * 1024;
    private const int Download = 256 * 1024 * 1024;

    [FriendsTheory]
    [InlineData("auto", true)]
    [InlineData("copy", true)]
    [InlineData("splice", true)]
    [InlineData("splice", false)]
    [InlineData("copy", false)]
    public async Task Tcp_mode_is_byte_exact_both_ways_with_random_write_sizes_and_either_side_closing_first(string forwarding, bool clientFinishesFirst)
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        using var listener = FriendsTraffic.Listen();
        var (proxy, admin, frontend) = await StartTcpProxyAsync(FriendsTraffic.PortOf(listener), forwarding);
        var upload = FriendsTraffic.Payload(Upload, 10);
        var download = FriendsTraffic.Payload(Download, 11);

        var backend = Task.Run(async () =>
        {
            using var connection = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
            var received = FriendsTraffic.HashToEndAsync(connection);
            if (clientFinishesFirst)
            {
                await received;
            }

            await FriendsTraffic.SendInRandomPiecesAsync(connection, download, 12);
            return await received;
        });

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(frontend);
        var downloaded = FriendsTraffic.HashToEndAsync(client);
        await FriendsTraffic.SendInRandomPiecesAsync(client, upload, 13);
        var (downBytes, downHash) = await downloaded.WaitAsync(TimeSpan.FromMinutes(3));
        var (upBytes, upHash) = await backend.WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(Upload, upBytes);
        Assert.Equal(SHA256.HashData(upload), upHash);
        Assert.Equal(Download, downBytes);
        Assert.Equal(SHA256.HashData(download), downHash);
        Assert.True(await RedirectedAsync(admin) > 0, $"the proxy's worker redirected nothing. {proxy.Stdout}");
    }

    [FriendsFact]
    public async Task Resets_from_either_side_reach_the_other_and_the_proxy_goes_on_serving()
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        using var listener = FriendsTraffic.Listen();
        var (_, _, frontend) = await StartTcpProxyAsync(FriendsTraffic.PortOf(listener), "splice");
        var chunk = FriendsTraffic.Payload(1024 * 1024, 20);

        // The client resets mid-transfer: the backend sees its connection end.
        using (var client = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(frontend);
            using var accepted = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
            await client.SendAsync(chunk);
            client.LingerState = new LingerOption(true, 0);
            client.Close();
            await Clients.ReadUntilClosedAsync(accepted);
        }

        // The backend resets mid-transfer: the client sees its connection end, with at most what was sent.
        using (var client = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(frontend);
            var accepted = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
            await accepted.SendAsync(chunk);

            // Mid-transfer: the first byte reached the client before the reset.
            var first = await Clients.ReceiveExactlyAsync(client, 1);
            accepted.LingerState = new LingerOption(true, 0);
            accepted.Close();
            var (bytes, _) = await Clients.ReadUntilClosedAsync(client);
            Assert.True(first.Length + bytes <= chunk.Length, $"{first.Length + bytes} bytes arrived of {chunk.Length} sent");
        }

        using (var client = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(frontend);
            using var accepted = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
            await client.SendAsync("after"u8.ToArray());
            Assert.Equal("after"u8.ToArray(), await Clients.ReceiveExactlyAsync(accepted, 5));
        }
    }

    [FriendsFact]
    public async Task Http_mode_serves_pipelined_requests_and_large_bodies_to_friends_and_to_a_backend_outside_the_cgroup_on_one_worker()
    {
        var big = FriendsTraffic.Payload(32 * 1024 * 1024, 30);
        var root = Directory.CreateTempSubdirectory("fastsock-friends-nginx-").FullName;
        try
        {
            // nginx started before joining stays outside; the one started after is inside with the proxy and the test.
            using var outside = await LoopbackPorts.StartPeerAsync(port => NginxServer.StartAsync(Path.Combine(root, "out"), port, big));
            using var cgroup = FriendsCgroup.CreateAndJoin();
            using var inside = await LoopbackPorts.StartPeerAsync(port => NginxServer.StartAsync(Path.Combine(root, "in"), port, big));
            var (proxy, _) = await StartProxyWithConfigAsync($$"""
                { "frontends": [ { "name": "in", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "in" },
                                 { "name": "out", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "out" } ],
                  "backends": [ { "name": "in", "servers": [ { "address": "127.0.0.1:{{inside.Port}}" } ] },
                                { "name": "out", "servers": [ { "address": "127.0.0.1:{{outside.Port}}" } ] } ],
                  "tcpFriends": { "enabled": true } }
                """);
            await proxy.WaitForLineAsync($"TCP friends on cgroup {cgroup.Path}");

            foreach (var name in new[] { "in", "out" })
            {
                var frontend = await proxy.ListeningOnAsync($"frontend {name}");
                string pipelined = string.Concat(Enumerable.Repeat("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", 9)) + "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
                string answers = await ExchangeUntilCloseAsync(frontend, pipelined);
                Assert.Equal(10, CountOf(answers, "HTTP/1.1 200 OK"));
                Assert.Equal(10, CountOf(answers, "\r\n\r\nHello"));

                string response = await ExchangeUntilCloseAsync(frontend, "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                int bodyAt = response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
                Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
                var body = Encoding.Latin1.GetBytes(response[bodyAt..]);
                Assert.Equal(big.Length, body.Length);
                Assert.Equal(SHA256.HashData(big), SHA256.HashData(body));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [FriendsFact]
    public async Task After_sigterm_sigkill_or_a_failed_start_no_program_of_ours_stays_and_the_next_start_works()
    {
        using var cgroup = FriendsCgroup.CreateAndJoin();
        int backendPort = RefusingPort();
        foreach (var signal in new[] { "TERM", "KILL" })
        {
            var before = Bpftool.ProgramsNamed(TcpFriends.SkMsgName);
            var (proxy, _, _) = await StartTcpProxyAsync(backendPort, "auto");
            var attached = cgroup.AttachedPrograms();
            Assert.Equal([TcpFriends.SockOpsName], attached.Select(p => p.Name));
            var ours = Bpftool.ProgramsNamed(TcpFriends.SkMsgName).Except(before).Append(attached[0].Id).ToArray();
            Assert.Equal(2, ours.Length);

            proxy.Signal(signal);
            await proxy.WaitForExitAsync(Clients.Timeout);
            await Eventually.AssertAsync(
                () => cgroup.AttachedPrograms().Count == 0 && !Bpftool.ProgramsNamed(TcpFriends.SockOpsName).Concat(Bpftool.ProgramsNamed(TcpFriends.SkMsgName)).Intersect(ours).Any(),
                () => $"after SIG{signal} programs {string.Join(",", ours)} are still loaded or attached");
        }

        // A start that fails after attaching (its frontend port is taken) leaves nothing either.
        using var taken = FriendsTraffic.Listen();
        var beforeFailed = Bpftool.ProgramsNamed(TcpFriends.SockOpsName);
        using var failed = StartTcpProxyProcess(backendPort, "auto", FriendsTraffic.PortOf(taken));
        Assert.Equal(2, await failed.WaitForExitAsync(Clients.Timeout));
        await Eventually.AssertAsync(
            () => cgroup.AttachedPrograms().Count == 0 && !Bpftool.ProgramsNamed(TcpFriends.SockOpsName).Except(beforeFailed).Any(),
            () => "the failed start left a program loaded or attached");

        var (again, _, _) = await StartTcpProxyAsync(backendPort, "auto");
        Assert.Single(cgroup.AttachedPrograms());
        again.Signal("TERM");
        Assert.Equal(0, await again.WaitForExitAsync(Clients.Timeout));
    }

    private static int CountOf(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private async Task<(SampleProcess Proxy, IPEndPoint Admin, IPEndPoint Frontend)> StartTcpProxyAsync(int backendPort, string forwarding)
    {
        var (proxy, _) = await StartProxyWithConfigAsync(TcpConfig(backendPort, 0), $"--forwarding {forwarding} --tcp-friends");
        await proxy.WaitForLineAsync("TCP friends on cgroup");
        return (proxy, await proxy.ListeningOnAsync("admin"), await proxy.ListeningOnAsync("frontend"));
    }

    private static SampleProcess StartTcpProxyProcess(int backendPort, string forwarding, int frontendPort)
    {
        var config = Path.Combine(Path.GetTempPath(), $"fastsock-friends-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, TcpConfig(backendPort, frontendPort));
        var proxy = SampleProcess.Start(Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll"), $"--config {config} --cores {CoreSets.FirstText} --forwarding {forwarding} --tcp-friends");
        return proxy;
    }

    private static string TcpConfig(int backendPort, int frontendPort) => $$"""
        { "admin": { "bind": "127.0.0.1:0" },
          "frontends": [ { "name": "t", "bind": ["127.0.0.1:{{frontendPort}}"], "mode": "tcp", "backend": "b" } ],
          "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ],
          "timeouts": { "client": "60s", "server": "60s" } }
        """;

    /// <summary>Bytes the proxy's workers sent by redirect, from the admin JSON.</summary>
    private static async Task<long> RedirectedAsync(IPEndPoint admin)
    {
        string response = await ExchangeUntilCloseAsync(admin, "GET /stats?format=json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        using var json = JsonDocument.Parse(response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
        long total = 0;
        foreach (var worker in json.RootElement.GetProperty("tcpFriends").GetProperty("workers").EnumerateArray())
        {
            total += worker.GetProperty("bytesRedirected").GetInt64();
        }

        return total;
    }
}
