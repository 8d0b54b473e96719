using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Transport;

/// <summary>
/// A peer sends bytes, then resets: a handler that reads only after the reset reached the transport still gets every
/// byte the transport had received, as ordinary reads, and the reset after them (the input pipe used to throw the reset
/// first and drop what it held).
/// </summary>
public sealed class ResetAfterBytesTests
{
    private const int Bytes = 300 * 1024; // under the input pipe's pause threshold (MaxInputBufferSize, 1 MiB): all of it is in the pipe

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_handler_reading_after_the_reset_gets_every_byte_received_before_it_then_the_reset(string cores)
    {
        var outcome = new TaskCompletionSource<(byte[] Received, bool SawCompleted, Exception? Error)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (connection.InputEnded.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), ended))
            {
                await ended.Task.WaitAsync(Clients.Timeout); // the reset reached the transport: nothing was read yet
            }

            var input = connection.Transport.Input;
            var received = new MemoryStream();
            bool sawCompleted = false;
            Exception? error = null;
            try
            {
                while (true)
                {
                    var result = await input.ReadAsync();
                    foreach (var segment in result.Buffer)
                    {
                        received.Write(segment.Span);
                    }

                    input.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted)
                    {
                        sawCompleted = true;
                        break;
                    }
                }
            }
            catch (Exception ex)
            {
                error = ex;
            }

            outcome.TrySetResult((received.ToArray(), sawCompleted, error));
            await input.CompleteAsync();
            await connection.Transport.Output.CompleteAsync();
        }, o => o.Cores = CpuSet.Parse(cores));

        var sent = new byte[Bytes];
        new Random(41).NextBytes(sent);
        using (var client = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
            await client.SendAsync(sent).WithinTimeout();
            await Eventually.AssertAsync(
                () => server.GetStats().Sum(w => w.BytesReceived) >= Bytes,
                () => $"the server received {server.GetStats().Sum(w => w.BytesReceived)} of the {Bytes} B sent");
            client.LingerState = new LingerOption(true, 0);
            client.Close(); // RST: the server's next recv fails with ECONNRESET
        }

        var (received, sawCompleted, error) = await outcome.Task.WaitAsync(Clients.Timeout);
        Assert.True(received.Length == Bytes, $"the handler got {received.Length} of the {Bytes} B received before the reset (then: {error?.GetType().Name ?? "no error"})");
        Assert.True(received.AsSpan().SequenceEqual(sent), "the bytes the handler got differ from those sent");
        Assert.False(sawCompleted, "the input ended as if with a FIN: the handler cannot tell the peer reset");
        Assert.IsType<ConnectionResetException>(error);
    }
}
