using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

public sealed class HalfCloseTests
{
    private const int AfterFin = 1024 * 1024;

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Server_keeps_sending_after_the_client_half_closes_and_the_client_gets_all_of_it_then_eof(string cores)
    {
        await using var server = await TestServers.StartAsync(WriteAfterPeerFin, o => o.Cores = CpuSet.Parse(cores));
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        await client.SendAsync("request"u8.ToArray().AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        client.Shutdown(SocketShutdown.Send);

        var received = await Clients.ReadToEndAsync(client);

        Assert.Equal(AfterFin, received.Length);
        for (int i = 0; i < received.Length; i++)
        {
            Assert.True(received[i] == (byte)(i % 251), $"byte {i} is {received[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Server_reads_what_the_client_sends_after_the_server_finished_its_output(string cores)
    {
        var counted = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(c => FinFirstThenCount(c, counted), o => o.Cores = CpuSet.Parse(cores));
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);

        // The server's FIN arrives before the client has sent anything.
        Assert.Equal("bye"u8.ToArray(), await Clients.ReadToEndAsync(client));

        var payload = new byte[AfterFin];
        Random.Shared.NextBytes(payload);
        int sent = 0;
        while (sent < payload.Length)
        {
            sent += await client.SendAsync(payload.AsMemory(sent)).AsTask().WaitAsync(Clients.Timeout);
        }

        client.Shutdown(SocketShutdown.Send);

        Assert.Equal(AfterFin, await counted.Task.WaitAsync(Clients.Timeout));
    }

    /// <summary>Reads until the peer's FIN, then writes <see cref="AfterFin"/> bytes in pieces, then completes.</summary>
    private static async Task WriteAfterPeerFin(Connection connection)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync();
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        var output = connection.Transport.Output;
        var piece = new byte[10_000];
        for (int written = 0; written < AfterFin; written += piece.Length)
        {
            int size = Math.Min(piece.Length, AfterFin - written);
            for (int i = 0; i < size; i++)
            {
                piece[i] = (byte)((written + i) % 251);
            }

            await output.WriteAsync(piece.AsMemory(0, size));
        }

        await input.CompleteAsync();
        await output.CompleteAsync();
    }

    /// <summary>Says "bye" and completes its output (FIN) at once, then counts what the peer still sends.</summary>
    private static async Task FinFirstThenCount(Connection connection, TaskCompletionSource<long> counted)
    {
        var output = connection.Transport.Output;
        await output.WriteAsync("bye"u8.ToArray());
        await output.CompleteAsync();

        var input = connection.Transport.Input;
        long count = 0;
        while (true)
        {
            var result = await input.ReadAsync();
            count += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                break;
            }
        }

        await input.CompleteAsync();
        counted.TrySetResult(count);
    }
}
