using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport;

/// <summary><c>Connection.InputEnded</c>: a handler busy elsewhere learns that the peer's input ended.</summary>
public sealed class InputEndedTests
{
    [Fact]
    public async Task Input_ended_fires_on_the_peers_fin_while_the_handler_is_not_reading()
    {
        var fired = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (connection.InputEnded.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), ended))
            {
                var won = await Task.WhenAny(ended.Task, Task.Delay(TimeSpan.FromSeconds(10)));
                fired.TrySetResult(won == ended.Task && !connection.ConnectionClosed.IsCancellationRequested);
            }

            await connection.Transport.Input.CompleteAsync();
            await connection.Transport.Output.CompleteAsync();
        }, o => o.Cores = CoreSets.First);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        await client.SendAsync(new byte[] { 1, 2, 3 }).WithinTimeout();
        await Task.Delay(100);
        Assert.False(fired.Task.IsCompleted);
        client.Shutdown(SocketShutdown.Send);
        Assert.True(await fired.Task.WaitAsync(Clients.Timeout), "InputEnded did not fire on the FIN (or only with the close)");
    }
}
