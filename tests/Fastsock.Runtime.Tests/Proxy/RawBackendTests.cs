using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fastsock.Tests.Proxy;

/// <summary>The scripted backend itself: an assertion inside a script must reach the test, a script left waiting must not.</summary>
public sealed class RawBackendTests
{
    [Fact]
    public async Task A_failed_assertion_in_a_script_is_rethrown_when_the_backend_is_disposed()
    {
        var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await c.SendAsync("x");
            Assert.Fail("the script saw something wrong");
        });
        using var client = await ExchangeOneByteAsync(backend.Port);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => backend.DisposeAsync().AsTask());
        Assert.Contains("the script saw something wrong", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_script_still_waiting_for_its_peer_ends_quietly_when_the_backend_is_disposed()
    {
        var backend = new RawBackend(async c =>
        {
            await c.ReadHeadAsync();
            await c.SendAsync("x");
            await c.ReadHeadAsync(); // the test never sends a second request
        });
        using var client = await ExchangeOneByteAsync(backend.Port);

        await backend.DisposeAsync();
        Assert.Equal(1, backend.Accepted);
    }

    private static async Task<Socket> ExchangeOneByteAsync(int port)
    {
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await client.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n\r\n"));
        var buffer = new byte[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        Assert.Equal(1, await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
        return client;
    }
}
