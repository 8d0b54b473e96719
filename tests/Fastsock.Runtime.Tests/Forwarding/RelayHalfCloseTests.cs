using System.Net;
using System.Net.Sockets;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

public sealed class RelayHalfCloseTests
{
    private const int Reply = 1024 * 1024 + 17;

    [Theory]
    [InlineData(ForwardingMode.Copy)]
    [InlineData(ForwardingMode.Splice)]
    public async Task Client_fin_reaches_the_backend_which_replies_more_and_the_client_gets_all_of_it_then_eof(ForwardingMode mode)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var relay = await RelayServer.StartAsync((IPEndPoint)listener.LocalEndpoint, mode);
        var backendDone = Task.Run(async () =>
        {
            using var backend = await listener.AcceptSocketAsync();
            var request = await Clients.ReadToEndAsync(backend); // returns at the client's FIN, forwarded by the relay
            var reply = Pattern(Reply);
            for (int sent = 0; sent < reply.Length;)
            {
                sent += await backend.SendAsync(reply.AsMemory(sent, Math.Min(10_000, reply.Length - sent)));
            }

            backend.Shutdown(SocketShutdown.Send);
            return request;
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        await client.SendAsync("request then FIN"u8.ToArray().AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        client.Shutdown(SocketShutdown.Send);

        var received = await Clients.ReadToEndAsync(client);

        Assert.Equal("request then FIN"u8.ToArray(), await backendDone.WaitAsync(Clients.Timeout));
        Assert.Equal(Pattern(Reply), received);
        Assert.True(await relay.IdleAsync(1));
        Assert.True(relay.Results.TryDequeue(out var result));
        Assert.Null(result.Error);
        Assert.Equal(Reply, result.SecondToFirst);
    }

    [Theory]
    [InlineData(ForwardingMode.Copy)]
    [InlineData(ForwardingMode.Splice)]
    public async Task Backend_fin_reaches_the_client_which_still_sends_and_the_backend_gets_all_of_it(ForwardingMode mode)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var relay = await RelayServer.StartAsync((IPEndPoint)listener.LocalEndpoint, mode);
        var backendDone = Task.Run(async () =>
        {
            using var backend = await listener.AcceptSocketAsync();
            await backend.SendAsync("bye"u8.ToArray().AsMemory());
            backend.Shutdown(SocketShutdown.Send);
            return await Clients.ReadToEndAsync(backend);
        });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);

        Assert.Equal("bye"u8.ToArray(), await Clients.ReadToEndAsync(client));
        var payload = Pattern(Reply);
        for (int sent = 0; sent < payload.Length;)
        {
            sent += await client.SendAsync(payload.AsMemory(sent)).AsTask().WaitAsync(Clients.Timeout);
        }

        client.Shutdown(SocketShutdown.Send);

        Assert.Equal(payload, await backendDone.WaitAsync(Clients.Timeout));
        Assert.True(await relay.IdleAsync(1));
        Assert.True(relay.Results.TryDequeue(out var result));
        Assert.Null(result.Error);
        Assert.Equal(Reply, result.FirstToSecond);
    }

    internal static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i % 251);
        }

        return bytes;
    }
}
