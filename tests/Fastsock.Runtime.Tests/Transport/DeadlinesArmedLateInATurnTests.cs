using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport;

/// <summary>
/// Deadlines "from now" armed after the worker has been busy for 300 ms in the same turn: each must count from the
/// moment it is armed, not from the clock the worker read at the turn's start (which would make it fire ~300 ms
/// early). One worker; the handler spins on it, then arms the deadline in the same continuation.
/// </summary>
public sealed class DeadlinesArmedLateInATurnTests
{
    private const int BusyMs = 300;
    private const int TimeoutMs = 400;

    public static TheoryData<TlsServerEngine> Engines => new() { TlsServerEngine.OpenSsl, TlsServerEngine.SslStream };

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_server_handshake_deadline_armed_late_in_a_long_turn_waits_its_whole_time(TlsServerEngine engine)
    {
        var options = new TlsServerOptions { Engine = engine, HandshakeTimeout = TimeSpan.FromMilliseconds(TimeoutMs) };
        options.Certificates.Add(TestCertificates.Create("a.example.test", ["a.example.test"]));
        var tls = TlsLayer.Server(options, static _ => Task.CompletedTask);
        var waited = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            KeepWorkerBusy();
            var armed = Stopwatch.StartNew();
            await tls(connection); // arms the handshake deadline before its first await; the client never says hello
            waited.SetResult(armed.Elapsed);
        }, o => o.Cores = CoreSets.First);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        var elapsed = await waited.Task.WaitAsync(Clients.Timeout);

        AssertWaitedWholeTimeout(elapsed, "handshake deadline");
        Assert.Equal(1, options.Stats.Snapshot().Timeouts);
    }

    [Fact]
    public async Task A_client_handshake_deadline_armed_late_in_a_long_turn_waits_its_whole_time()
    {
        // The kernel completes the TCP handshake into the backlog; nobody reads the ClientHello.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen(8);
        var options = new TlsClientOptions { TargetHost = "backend.test", HandshakeTimeout = TimeSpan.FromMilliseconds(TimeoutMs) };
        var waited = new TaskCompletionSource<(TimeSpan Elapsed, TlsClientFailureReason? Reason)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            var raw = await FastsockConnector.ConnectAsync(silent.LocalEndPoint!);
            KeepWorkerBusy();
            var armed = Stopwatch.StartNew();
            try
            {
                (await TlsLayer.ClientAsync(raw, options)).Abort();
                waited.SetResult((armed.Elapsed, null));
            }
            catch (TlsHandshakeException ex)
            {
                waited.SetResult((armed.Elapsed, ex.Reason));
            }
        }, o => o.Cores = CoreSets.First);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        var (elapsed, reason) = await waited.Task.WaitAsync(Clients.Timeout);

        Assert.Equal(TlsClientFailureReason.Timeout, reason);
        AssertWaitedWholeTimeout(elapsed, "client handshake deadline");
    }

    [Fact]
    public async Task A_connect_timeout_armed_late_in_a_long_turn_waits_its_whole_time()
    {
        using var silent = await OutboundConnectTests.SilentListener.StartAsync();
        var waited = new TaskCompletionSource<(TimeSpan Elapsed, Exception? Error)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServers.StartAsync(async connection =>
        {
            KeepWorkerBusy();
            var armed = Stopwatch.StartNew();
            try
            {
                (await FastsockConnector.ConnectAsync(silent.EndPoint)).Abort();
                waited.SetResult((armed.Elapsed, null));
            }
            catch (Exception ex)
            {
                waited.SetResult((armed.Elapsed, ex));
            }
        }, o =>
        {
            o.Cores = CoreSets.First;
            o.Outbound.ConnectTimeout = TimeSpan.FromMilliseconds(TimeoutMs);
        });

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.EndPoints[0]).WithinTimeout();
        var (elapsed, error) = await waited.Task.WaitAsync(Clients.Timeout);

        Assert.IsType<TimeoutException>(error);
        AssertWaitedWholeTimeout(elapsed, "connect timeout");
    }

    /// <summary>Spins on the worker so the clock it read at the start of this turn is <see cref="BusyMs"/> old.</summary>
    private static void KeepWorkerBusy()
    {
        var busy = Stopwatch.StartNew();
        while (busy.ElapsedMilliseconds < BusyMs)
        {
            Thread.SpinWait(100);
        }
    }

    // Counted from the turn's start it would have fired ~BusyMs early; the worker's clock is a few ms coarse at most.
    private static void AssertWaitedWholeTimeout(TimeSpan elapsed, string what) =>
        Assert.True(
            elapsed >= TimeSpan.FromMilliseconds(TimeoutMs - Clients.CoarseClockSlackMs),
            $"the {what} fired {elapsed.TotalMilliseconds:F0} ms after it was armed for {TimeoutMs} ms");
}
