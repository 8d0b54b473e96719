using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Http.ProxyProtocol;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>fastsock-proxy in tcp mode as a real process: PROXY protocol on both sides, unix backends, the local fast path.</summary>
[Trait("Category", "Slow")] // real processes, peers or long loads: skip with --filter Category!=Slow
public sealed class ProxyWireProcessTests : IDisposable
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-proxywire-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("v1", "copy")]
    [InlineData("v2", "auto")]
    public async Task Announced_client_is_sent_on_in_the_servers_header_followed_by_exactly_the_payload(string sendProxy, string forwarding)
    {
        using var backend = RawPeer.Sink(new IPEndPoint(IPAddress.Loopback, 0));
        var config = Config($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b", "acceptProxy": true } ],
              "backends": [ { "name": "b", "balance": "source", "servers": [ { "address": "{{backend.EndPoint}}", "sendProxy": "{{sendProxy}}" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText} --forwarding {forwarding}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        int proxyPort = (await proxy.ListeningOnAsync("frontend")).Port;

        var payload = RandomBytes(100_000);
        var header = Encoding.ASCII.GetBytes($"PROXY TCP4 192.0.2.10 127.0.0.1 4000 {proxyPort}\r\n");
        var reply = await ExchangeAsync(new IPEndPoint(IPAddress.Loopback, proxyPort), [.. header, .. payload]);
        Assert.Empty(reply);

        var received = await backend.ReceivedAsync(0);
        var status = ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(received), out var sent, out var consumed);
        Assert.Equal(ProxyParseStatus.Complete, status);
        Assert.Equal(sendProxy == "v1" ? 1 : 2, sent.Version);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 4000), sent.Source);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, proxyPort), sent.Destination);
        if (sendProxy == "v1")
        {
            Assert.Equal($"PROXY TCP4 192.0.2.10 127.0.0.1 4000 {proxyPort}\r\n", Encoding.ASCII.GetString(received, 0, sent.Length));
        }

        Assert.Equal(payload, received[(int)new ReadOnlySequence<byte>(received).Slice(0, consumed).Length..]);
    }

    [Fact]
    public async Task Malformed_proxy_header_closes_the_client_connection_with_one_log_line()
    {
        using var backend = RawPeer.Sink(new IPEndPoint(IPAddress.Loopback, 0));
        var config = Config($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b", "acceptProxy": true } ],
              "backends": [ { "name": "b", "servers": [ { "address": "{{backend.EndPoint}}", "sendProxy": "v2" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        int proxyPort = (await proxy.ListeningOnAsync("frontend")).Port;

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxyPort));
        await client.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 192.0.2.300 127.0.0.1 4000 80\r\nhello"), SocketFlags.None);
        using var timeout = new CancellationTokenSource(Clients.Timeout);
        try
        {
            Assert.Equal(0, await client.ReceiveAsync(new byte[16], SocketFlags.None, timeout.Token));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // closed with unread bytes: a reset is a close too
        }

        await proxy.WaitForLineAsync("PROXY v1 address is not in the canonical form");
        Assert.Equal(0, backend.ConnectionCount);
    }

    [Theory]
    [InlineData("copy")]
    [InlineData("splice")]
    [InlineData("auto")]
    public async Task Unix_socket_server_works_through_the_proxy(string forwarding)
    {
        var path = Path.Combine(_dir, "echo.sock");
        using var backend = RawPeer.Echo(new UnixDomainSocketEndPoint(path));
        var config = Config($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "unix:{{path}}" } ] } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText} --forwarding {forwarding}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        int proxyPort = (await proxy.ListeningOnAsync("frontend")).Port;

        var payload = RandomBytes(1_000_000);
        Assert.Equal(payload, await ExchangeAsync(new IPEndPoint(IPAddress.Loopback, proxyPort), payload));
        Assert.Equal(1, backend.ConnectionCount);
    }

    [Theory]
    [InlineData("")]
    [InlineData(""", "healthCheck": { "type": "tcp", "interval": "100ms", "timeout": "100ms", "fall": 2 }""")]
    public async Task Local_fast_path_reaches_the_server_over_its_unix_socket_when_the_socket_exists(string healthCheck)
    {
        var path = Path.Combine(_dir, "app.sock");
        using var backend = RawPeer.Echo(new UnixDomainSocketEndPoint(path));
        using var tcpPort = LoopbackPorts.Refusing(); // not listening: only the unix socket can answer
        var config = Config($$"""
            { "frontends": [ { "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{tcpPort.Port}}", "localFastPath": "unix:{{path}}" } ]{{healthCheck}} } ] }
            """);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {config} --cores {CoreSets.FirstText}");
        await proxy.WaitForLineAsync("Press Ctrl+C");
        int proxyPort = (await proxy.ListeningOnAsync("frontend")).Port;
        if (healthCheck.Length > 0)
        {
            // Several checks have run, and they probe the fast path too: the unix socket sees them arrive.
            Assert.True(await Eventually.HoldsAsync(() => backend.ConnectionCount >= 3), $"{backend.ConnectionCount} health probes reached the unix socket");
        }

        var payload = RandomBytes(50_000);
        Assert.Equal(payload, await ExchangeAsync(new IPEndPoint(IPAddress.Loopback, proxyPort), payload));
        Assert.True(healthCheck.Length > 0 ? backend.ConnectionCount >= 1 : backend.ConnectionCount == 1, $"{backend.ConnectionCount} connections");
        Assert.DoesNotContain("is DOWN", proxy.Stdout, StringComparison.Ordinal);
    }

    private string Config(string json)
    {
        var path = Path.Combine(_dir, "proxy.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(count).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Sends <paramref name="data"/> and half-closes while reading everything that comes back until the FIN.</summary>
    private static async Task<byte[]> ExchangeAsync(IPEndPoint proxy, byte[] data)
    {
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(proxy);
        var send = Task.Run(async () =>
        {
            await client.SendAsync(data, SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);
        });
        using var timeout = new CancellationTokenSource(Clients.Timeout);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        await send.WaitAsync(Clients.Timeout);
        return received.ToArray();
    }
}
