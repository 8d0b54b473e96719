using System.Net.Sockets;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport;

public sealed class EchoTests
{
    [Fact]
    public async Task Small_message_is_echoed_back_and_connection_closes_after_half_close()
    {
        await using var server = await TestServers.StartAsync(TestServers.Echo);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        await client.SendAsync("hello"u8.ToArray()).WithinTimeout();
        client.Shutdown(SocketShutdown.Send);
        var received = await Clients.ReadToEndAsync(client);

        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(received));
    }
}
