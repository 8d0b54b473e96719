using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Hosting;

public sealed class GracefulShutdownTests
{
    private const int ReplySize = 256 * 1024;

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Stop_lets_an_in_flight_request_finish_its_reply_and_refuses_new_connections(string cores)
    {
        var requestSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await TestServers.StartAsync(c => SlowReply(c, requestSeen), o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.ShutdownTimeout = TimeSpan.FromSeconds(20);
        });
        await using var _ = server;
        var endPoint = server.EndPoints[0];
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint).WaitAsync(Clients.Timeout);
        await client.SendAsync("go"u8.ToArray().AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        await requestSeen.Task.WaitAsync(Clients.Timeout);

        var stopping = server.StopAsync();
        var reply = Clients.ReadToEndAsync(client);

        // The listeners close on the workers' next loop turn: poll until a connect is refused.
        Assert.True(await Eventually.HoldsAsync(() => IsRefusedAsync(endPoint)), "connections were still accepted after StopAsync began");
        Assert.False(reply.IsCompleted && (await reply).Length < ReplySize, "the in-flight reply was cut short");
        var received = await reply;
        Assert.Equal(ReplySize, received.Length);
        Assert.All(received, b => Assert.Equal((byte)'r', b));
        await stopping.WaitAsync(Clients.Timeout);
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Stop_aborts_a_handler_that_never_finishes_after_the_shutdown_timeout(string cores)
    {
        var requestSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await TestServers.StartAsync(c => NeverFinish(c, requestSeen), o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.ShutdownTimeout = TimeSpan.FromSeconds(1);
        });
        await using var _ = server;
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        await client.SendAsync("go"u8.ToArray().AsMemory()).AsTask().WaitAsync(Clients.Timeout);
        await requestSeen.Task.WaitAsync(Clients.Timeout);

        var stopping = server.StopAsync();
        var (bytes, reset) = await Clients.ReadUntilClosedAsync(client);

        Assert.Equal(0, bytes);
        Assert.True(reset, "the stuck connection ended with a FIN, not the abort's reset");
        await stopping.WaitAsync(Clients.Timeout);
        Assert.Empty(server.Workers);
    }

    private static async Task<bool> IsRefusedAsync(EndPoint endPoint)
    {
        using var late = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await late.ConnectAsync(endPoint).WaitAsync(Clients.Timeout);
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return false; // queued in a listener as it closed: the kernel resets those; not refused yet
        }
    }

    /// <summary>Takes about a second to answer one request, whatever the shutdown says.</summary>
    private static async Task SlowReply(Connection connection, TaskCompletionSource requestSeen)
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAtLeastAsync(2);
        input.AdvanceTo(result.Buffer.End);
        requestSeen.TrySetResult();
        await Task.Delay(1000);
        var reply = new byte[ReplySize];
        Array.Fill(reply, (byte)'r');
        await connection.Transport.Output.WriteAsync(reply);
        await input.CompleteAsync();
        await connection.Transport.Output.CompleteAsync();
    }

    private static async Task NeverFinish(Connection connection, TaskCompletionSource requestSeen)
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAtLeastAsync(2);
        input.AdvanceTo(result.Buffer.End);
        requestSeen.TrySetResult();
        await Task.Delay(Timeout.Infinite);
    }
}
