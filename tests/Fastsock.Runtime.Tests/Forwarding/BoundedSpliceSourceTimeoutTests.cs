using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

/// <summary>
/// A bounded splice given an inactivity timeout for its source: a source silent that long while awaited fails the splice,
/// aborts the source only and gives the target back to its owner; a source that never pauses that long, however long it
/// takes in total, delivers the whole count.
/// </summary>
/// <remarks>
/// The source is an upstream connection the handler opens to a listener of the test (the source's peer); the target is
/// the accepted client. After the splice the handler writes <c>AFTER</c> to the client when the splice left it usable.
/// </remarks>
public sealed class BoundedSpliceSourceTimeoutTests
{
    private const int Count = 1024 * 1024;
    private const int Part = 100_000;
    private static readonly TimeSpan SourceTimeout = TimeSpan.FromSeconds(2);

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_source_silent_for_the_timeout_inside_the_count_is_aborted_and_the_target_is_given_back(string cores)
    {
        await using var run = await SpliceRun.StartAsync(cores);
        using var source = await run.AcceptSourceAsync();
        var received = Clients.ReadToEndAsync(run.Client);

        var silence = Stopwatch.StartNew();
        await source.SendAsync(Pattern(0, Part), SocketFlags.None).WaitAsync(Clients.Timeout);
        var (forward, after) = await run.Result.WaitAsync(Clients.Timeout);
        var elapsed = silence.Elapsed;

        Assert.IsType<TimeoutException>(forward.Error);
        Assert.Equal((true, false, false, (long)Part), (forward.SourceTimedOut, forward.TargetFailed, forward.SourceKept, forward.FirstToSecond));
        Assert.True(
            elapsed >= SourceTimeout - TimeSpan.FromMilliseconds(Clients.CoarseClockSlackMs),
            $"the splice failed {elapsed.TotalMilliseconds} ms after the source's last bytes, before the {SourceTimeout.TotalMilliseconds} ms timeout");
        Assert.True(after, "the target was not given back usable");

        // The client got the part, then what its owner wrote after the splice, then a FIN; the source's peer a reset.
        byte[] expected = [.. Pattern(0, Part), .. "AFTER"u8];
        Assert.Equal(expected, await received);
        var (_, reset) = await Clients.ReadUntilClosedAsync(source);
        Assert.True(reset, "the silent source was closed gracefully, not aborted");
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_source_slower_than_the_timeout_in_total_but_never_silent_that_long_delivers_the_whole_count(string cores)
    {
        const int Pieces = 10;
        await using var run = await SpliceRun.StartAsync(cores);
        using var source = await run.AcceptSourceAsync();
        var received = Clients.ReadToEndAsync(run.Client);

        var sending = Stopwatch.StartNew();
        for (int i = 0; i < Pieces; i++)
        {
            await Task.Delay(SourceTimeout / 8); // pacing only: the proof is the count delivered whole and the result
            int from = i * (Count / Pieces);
            int to = i == Pieces - 1 ? Count : from + (Count / Pieces);
            await source.SendAsync(Pattern(from, to - from), SocketFlags.None).WaitAsync(Clients.Timeout);
        }

        Assert.True(sending.Elapsed > SourceTimeout, $"the count took {sending.Elapsed.TotalMilliseconds} ms: not longer than the timeout");
        var (forward, after) = await run.Result.WaitAsync(Clients.Timeout);
        Assert.Null(forward.Error);
        Assert.Equal((false, (long)Count), (forward.SourceTimedOut, forward.FirstToSecond));
        Assert.True(after);
        byte[] expected = [.. Pattern(0, Count), .. "AFTER"u8];
        Assert.Equal(expected, await received);
    }

    /// <summary>Bytes <paramref name="from"/> to <paramref name="from"/> + <paramref name="length"/> of the count's pattern.</summary>
    private static byte[] Pattern(int from, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((from + i) % 251);
        }

        return bytes;
    }

    /// <summary>One splice of <see cref="Count"/> bytes from an upstream connection to the accepted client, with the timeout.</summary>
    private sealed class SpliceRun : IAsyncDisposable
    {
        private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
        private readonly TaskCompletionSource<(ForwardResult, bool)> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private FastsockServer? _server;

        private SpliceRun()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
        }

        public Socket Client { get; } = new(SocketType.Stream, ProtocolType.Tcp);

        /// <summary>What the splice returned, and whether the handler could write to the client after it.</summary>
        public Task<(ForwardResult Forward, bool After)> Result => _result.Task;

        public static async Task<SpliceRun> StartAsync(string cores)
        {
            var run = new SpliceRun();
            run._server = await TestServers.StartAsync(run.SpliceAsync, o => o.Cores = CpuSet.Parse(cores));
            await run.Client.ConnectAsync(run._server.EndPoints[0]).WaitAsync(Clients.Timeout);
            return run;
        }

        /// <summary>The source's peer: the upstream connection the handler opened.</summary>
        public async Task<Socket> AcceptSourceAsync() => await _listener.AcceptAsync().WaitAsync(Clients.Timeout);

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            _listener.Dispose();
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }

        private async Task SpliceAsync(Connection client)
        {
            var upstream = await FastsockConnector.ConnectAsync(_listener.LocalEndPoint!);
            try
            {
                var forward = await ConnectionForwarder.SpliceExactlyAsync(upstream, client, Count, keepSourceWithin: 0, sourceTimeout: SourceTimeout);
                bool after = false;
                if (forward.Error is null || forward.SourceTimedOut)
                {
                    var flush = await client.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes("AFTER"));
                    after = !flush.IsCompleted;
                }

                _result.TrySetResult((forward, after));
            }
            catch (Exception ex)
            {
                _result.TrySetException(ex);
            }
            finally
            {
                await upstream.Transport.Input.CompleteAsync();
                await upstream.Transport.Output.CompleteAsync();
                await client.Transport.Input.CompleteAsync();
                await client.Transport.Output.CompleteAsync();
            }
        }
    }
}
