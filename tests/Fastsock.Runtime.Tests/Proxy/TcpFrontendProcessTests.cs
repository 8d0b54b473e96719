using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>fastsock-proxy in tcp mode as a process: balance source by the PROXY-announced client, maxconn, and drain on SIGTERM.</summary>
public sealed class TcpFrontendProcessTests : HttpProxyHarness
{
    [Fact]
    public async Task Balance_source_sends_one_announced_source_to_one_server_and_spreads_different_sources()
    {
        await using var a = new RawBackend(c => NameAndWaitAsync(c, "A"));
        await using var b = new RawBackend(c => NameAndWaitAsync(c, "B"));
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b", "acceptProxy": true } ],
              "backends": [ { "name": "b", "balance": "source",
                              "servers": [ { "address": "127.0.0.1:{{a.Port}}" }, { "address": "127.0.0.1:{{b.Port}}" } ] } ] }
            """);
        var frontend = await proxy.ListeningOnAsync("frontend");

        // The same announced address from different ports (and a different real client each time): one server.
        var same = new HashSet<string>();
        for (int i = 0; i < 10; i++)
        {
            same.Add(await ServerForAsync(frontend, $"PROXY TCP4 203.0.113.7 192.0.2.1 {5000 + i} 80\r\n"));
        }

        Assert.Single(same);

        // Forty different announced addresses all on one server by chance: 2 in 2^40.
        var spread = new HashSet<string>();
        for (int i = 1; i <= 40; i++)
        {
            spread.Add(await ServerForAsync(frontend, $"PROXY TCP4 198.51.100.{i} 192.0.2.1 5000 80\r\n"));
        }

        Assert.Equal(["A", "B"], spread.Order());
    }

    [Fact]
    public async Task Connections_beyond_maxconn_are_closed_without_reaching_a_server_and_logged()
    {
        await using var backend = new RawBackend(c => NameAndWaitAsync(c, "S"));
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "frontends": [ { "name": "small", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b", "maxconn": 2 } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backend.Port}}" } ] } ] }
            """);
        var frontend = await proxy.ListeningOnAsync("frontend small");
        using var first = await ConnectAndReadNameAsync(frontend, "");
        using var second = await ConnectAndReadNameAsync(frontend, "");

        using (var third = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await third.ConnectAsync(frontend);
            var (bytes, _) = await Clients.ReadUntilClosedAsync(third);
            Assert.Equal(0, bytes);
        }

        await proxy.WaitForLineAsync("Frontend small: maxconn 2 reached");
        Assert.Equal(2, backend.Accepted);

        // The limit is on open connections: once one closes, a new one gets through.
        first.Socket.Dispose();
        Assert.True(await Eventually.HoldsAsync(() => OpenSessionsBelowLimit(frontend)), "no connection got through after one of the two closed");
        Assert.Equal(3, backend.Accepted);
    }

    [Fact]
    public async Task Sigterm_lets_an_in_flight_tcp_transfer_finish_before_the_proxy_exits_0()
    {
        var payload = new byte[4 * 1024 * 1024];
        new Random(13).NextBytes(payload);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async c =>
        {
            await c.ReadAsync(5);
            started.SetResult();
            await stopping.Task;
            await c.Socket.SendAsync(payload, SocketFlags.None);
            c.Socket.Shutdown(SocketShutdown.Send);
        });
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backend.Port}}" } ] } ] }
            """);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(await proxy.ListeningOnAsync("frontend"));
        await client.SendAsync("start"u8.ToArray(), SocketFlags.None);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15));

        proxy.Signal("TERM");
        await proxy.WaitForLineAsync("Stopping:");
        stopping.SetResult(); // the whole transfer happens during the drain
        var received = await Clients.ReadToEndAsync(client);
        Assert.Equal(payload.Length, received.Length);
        Assert.True(payload.AsSpan().SequenceEqual(received), "the bytes forwarded during the drain differ from the server's");
        client.Shutdown(SocketShutdown.Send); // the session ends when both directions have ended
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.DoesNotContain("Shutdown timeout reached", proxy.Stdout, StringComparison.Ordinal);
    }

    /// <summary>Tells the client which server it reached, then holds the connection until the client leaves.</summary>
    private static async Task NameAndWaitAsync(RawBackend.Conversation c, string name)
    {
        await c.SendAsync(name);
        await c.ReadAsync(1 << 20);
    }

    private static async Task<string> ServerForAsync(IPEndPoint frontend, string proxyHeader)
    {
        using var named = await ConnectAndReadNameAsync(frontend, proxyHeader);
        return named.Name;
    }

    private static async Task<NamedConnection> ConnectAndReadNameAsync(IPEndPoint frontend, string proxyHeader)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(frontend);
        if (proxyHeader.Length > 0)
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(proxyHeader), SocketFlags.None);
        }

        var name = await Clients.ReceiveExactlyAsync(socket, 1);
        return new NamedConnection(socket, Encoding.ASCII.GetString(name));
    }

    private static bool OpenSessionsBelowLimit(IPEndPoint frontend)
    {
        try
        {
            using var named = ConnectAndReadNameAsync(frontend, "").WaitAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            return named.Name == "S";
        }
        catch (Exception ex) when (ex is SocketException or EndOfStreamException or TimeoutException or IOException)
        {
            return false;
        }
    }

    private sealed record NamedConnection(Socket Socket, string Name) : IDisposable
    {
        public void Dispose() => Socket.Dispose();
    }
}
