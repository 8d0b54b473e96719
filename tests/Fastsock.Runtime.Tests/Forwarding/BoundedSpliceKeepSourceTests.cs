using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

/// <summary>
/// A bounded splice whose target fails, asked to keep its source within a bound: the source goes back to its reader at
/// the exact place in its stream the count says (the bytes the kernel pipe held counted as taken), or, over the bound,
/// both connections are aborted as for any failed splice.
/// </summary>
/// <remarks>
/// The source's peer sends <see cref="Prefix"/> bytes (in the source's input pipe when the splice starts, written to the
/// target at once), waits until the target's peer has read them and reset, then sends the rest of the count and
/// <c>NEXT</c>: the target got exactly <see cref="Prefix"/> bytes, and the splice fails at its first write after that.
/// </remarks>
public sealed class BoundedSpliceKeepSourceTests
{
    private const int Prefix = 1000;
    private const int Count = 2 * 1024 * 1024;

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_failed_target_leaves_the_source_to_its_reader_right_after_the_count_when_what_the_target_missed_fits_the_bound(string cores)
    {
        await using var run = await SpliceRun.StartAsync(cores, keepSourceWithin: Count - Prefix);
        var (forward, after) = await run.Result.WaitAsync(Clients.Timeout);

        Assert.NotNull(forward.Error);
        Assert.Equal((true, true, (long)Prefix), (forward.TargetFailed, forward.SourceKept, forward.FirstToSecond));
        Assert.InRange(forward.SourceRemaining, 0, Count - Prefix);
        Assert.Equal("NEXT", after); // neither a byte of the count left over nor one of what follows it lost
        Assert.False(await run.SourcePeerReset.WaitAsync(Clients.Timeout), "the source was aborted, not closed by its reader");
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_failed_target_aborts_both_connections_when_what_it_missed_is_one_byte_over_the_bound(string cores)
    {
        await using var run = await SpliceRun.StartAsync(cores, keepSourceWithin: Count - Prefix - 1);
        var (forward, _) = await run.Result.WaitAsync(Clients.Timeout);

        Assert.NotNull(forward.Error);
        Assert.Equal((true, false, (long)Prefix), (forward.TargetFailed, forward.SourceKept, forward.FirstToSecond));
        Assert.True(await run.SourcePeerReset.WaitAsync(Clients.Timeout), "the source was closed gracefully, not aborted");
    }

    /// <summary>One splice from an upstream connection (the source) to the accepted client (the target), scripted as above.</summary>
    private sealed class SpliceRun : IAsyncDisposable
    {
        private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
        private readonly Socket _client = new(SocketType.Stream, ProtocolType.Tcp);
        private readonly TaskCompletionSource _clientGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<(ForwardResult, string)> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private FastsockServer? _server;

        private SpliceRun()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
        }

        /// <summary>What the splice returned, and the 4 bytes the source's reader found after the count ("" when not kept).</summary>
        public Task<(ForwardResult Forward, string After)> Result => _result.Task;

        /// <summary>How the source's peer saw its connection end: true for a reset (aborted), false for a FIN.</summary>
        public Task<bool> SourcePeerReset { get; private set; } = Task.FromResult(false);

        public static async Task<SpliceRun> StartAsync(string cores, long keepSourceWithin)
        {
            var run = new SpliceRun();
            run.SourcePeerReset = run.ServeSourceAsync();
            run._server = await TestServers.StartAsync(client => run.SpliceAsync(client, keepSourceWithin), o => o.Cores = CpuSet.Parse(cores));
            await run._client.ConnectAsync(run._server.EndPoints[0]).WaitAsync(Clients.Timeout);
            Assert.Equal(Prefix, (await Clients.ReceiveExactlyAsync(run._client, Prefix)).Length);
            run._client.LingerState = new LingerOption(true, 0);
            run._client.Close(); // a reset: the splice's next write to it fails
            run._clientGone.SetResult();
            return run;
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            _listener.Dispose();
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }

        private async Task SpliceAsync(Connection client, long keepSourceWithin)
        {
            var upstream = await FastsockConnector.ConnectAsync(_listener.LocalEndPoint!);
            var input = upstream.Transport.Input;
            try
            {
                var first = await input.ReadAtLeastAsync(Prefix);
                input.AdvanceTo(first.Buffer.Start); // nothing consumed: the splice writes these first
                var forward = await ConnectionForwarder.SpliceExactlyAsync(upstream, client, Count, keepSourceWithin);
                _result.TrySetResult((forward, forward.SourceKept ? await ReadAfterAsync(input, forward.SourceRemaining) : ""));
            }
            catch (Exception ex)
            {
                _result.TrySetException(ex);
            }
            finally
            {
                await input.CompleteAsync();
                await upstream.Transport.Output.CompleteAsync();
                await client.Transport.Input.CompleteAsync();
                await client.Transport.Output.CompleteAsync();
            }
        }

        /// <summary>Reads and drops <paramref name="left"/> bytes, then returns the 4 after them.</summary>
        private static async Task<string> ReadAfterAsync(System.IO.Pipelines.PipeReader input, long left)
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                long take = Math.Min(left, buffer.Length);
                left -= take;
                buffer = buffer.Slice(take);
                if (left == 0 && buffer.Length >= 4)
                {
                    string after = Encoding.ASCII.GetString(buffer.Slice(0, 4).ToArray());
                    input.AdvanceTo(buffer.GetPosition(4));
                    return after;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return $"the source ended {left} bytes before the end of the count";
                }
            }
        }

        /// <summary>The source's peer: the prefix, then (once the target's peer has gone) the rest and NEXT; true when reset.</summary>
        private async Task<bool> ServeSourceAsync()
        {
            using var peer = await _listener.AcceptAsync();
            await peer.SendAsync(new byte[Prefix]);
            await _clientGone.Task;
            try
            {
                await peer.SendAsync(new byte[Count - Prefix]);
                await peer.SendAsync("NEXT"u8.ToArray());
            }
            catch (SocketException)
            {
                return true; // reset while sending: the proxy aborted it
            }

            var (_, reset) = await Clients.ReadUntilClosedAsync(peer);
            return reset;
        }
    }
}
