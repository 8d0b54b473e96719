using System.Net;
using System.Net.Sockets;
using Fastsock.Memory;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

public sealed class RelayResetTests
{
    [Theory]
    [InlineData(ForwardingMode.Copy)]
    [InlineData(ForwardingMode.Splice)]
    public async Task Backend_killed_mid_transfer_resets_the_client_and_the_relay_leaks_no_connection_or_pipe(ForwardingMode mode)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var relay = await RelayServer.StartAsync((IPEndPoint)listener.LocalEndpoint, mode);
        const int Rounds = 3;
        for (int round = 0; round < Rounds; round++)
        {
            var killed = Task.Run(async () =>
            {
                using var backend = await listener.AcceptSocketAsync();
                var buffer = new byte[64 * 1024];
                long read = 0;
                while (read < 4 << 20)
                {
                    read += await backend.ReceiveAsync(buffer.AsMemory());
                    await backend.SendAsync(buffer.AsMemory(0, 1000)); // some bytes flow back too
                }

                backend.LingerState = new LingerOption(true, 0);
                backend.Close(); // RST, with unread bytes in flight both ways
            });
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
            var sending = Task.Run(async () =>
            {
                var chunk = new byte[128 * 1024];
                try
                {
                    while (true)
                    {
                        await client.SendAsync(chunk.AsMemory()).WithinTimeout();
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // the relay reset the client (or the test closed it after seeing the reset): expected
                }
            });

            var (_, _) = await Clients.ReadUntilClosedAsync(client);
            await killed.WaitAsync(Clients.Timeout);
            client.Close();
            await sending.WaitAsync(Clients.Timeout);
        }

        Assert.True(await relay.IdleAsync(Rounds), $"active connections stay at {relay.Stats.Active}");
        Assert.All(relay.Results, r => Assert.NotNull(r.Error));
        var stats = relay.Stats;
        Assert.Equal(0, stats.Active);
        Assert.Equal(stats.KernelPipesOpen, stats.KernelPipesCached); // nothing still lent out
        Assert.True(stats.KernelPipesOpen <= KernelPipeCache.DefaultMaxRetained);
        Assert.True(stats.KernelPipesOpen <= 2 * Rounds);
    }
}
