using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

/// <summary>Forwarding between a TCP client and an AF_UNIX backend: splice(2) takes unix stream sockets on either side.</summary>
public sealed class UnixForwardingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-unixfwd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(ForwardingMode.Splice)]
    [InlineData(ForwardingMode.Copy)]
    public async Task Tcp_to_unix_forward_moves_every_byte_with_the_requested_engine(ForwardingMode mode)
    {
        var path = Path.Combine(_dir, "echo.sock");
        using var backend = RawPeer.Echo(new UnixDomainSocketEndPoint(path));
        var results = new ConcurrentQueue<ForwardResult>();
        await using var relay = await TestServers.StartAsync(async client =>
        {
            var upstream = await FastsockConnector.ConnectAsync(new UnixDomainSocketEndPoint(path));
            results.Enqueue(await ConnectionForwarder.ForwardAsync(client, upstream, mode));
        }, o => o.Cores = CoreSets.First);

        var payload = new byte[2_000_000];
        new Random(7).NextBytes(payload);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoints[0]).WithinTimeout();
        var send = Task.Run(async () =>
        {
            await client.SendAsync(payload, SocketFlags.None).WithinTimeout();
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
        Assert.Equal(payload, received.ToArray());
        Assert.True(await Eventually.HoldsAsync(() => !results.IsEmpty));
        Assert.True(results.TryPeek(out var result));
        Assert.Null(result.Error);
        Assert.Equal(mode, result.Mode);
        Assert.Equal(payload.Length, result.FirstToSecond);
        Assert.Equal(payload.Length, result.SecondToFirst);
    }
}
