using System.Net;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Forwarding;

/// <summary>
/// One side of a forward resets while megabytes it sent sit in the forwarder, queued for a slow reader on the other
/// side: the reader gets every one of them, then a reset. Copy and splice are held to the same cases, each way, with
/// one worker and with two (in copy mode the bytes still in the failed side's input pipe come before its reset: the
/// worker pipe delivers a writer's bytes before its error).
/// </summary>
[Trait("Category", "Slow")] // megabytes through real sockets, and a reader that waits for the reset
public sealed class RelayFailureDeliveryTests
{
    public static TheoryData<ForwardingMode, string> SpliceCases => QueuedBytesThenReset.Cases(ForwardingMode.Splice);

    public static TheoryData<ForwardingMode, string> CopyCases => QueuedBytesThenReset.Cases(ForwardingMode.Copy);

    [Theory]
    [MemberData(nameof(SpliceCases))]
    [MemberData(nameof(CopyCases))]
    public async Task A_slow_client_gets_every_byte_a_server_sent_before_its_reset_then_a_reset(ForwardingMode mode, string cores)
    {
        using var listener = QueuedBytesThenReset.Listen(receiveBuffer: 0);
        await using var relay = await RelayServer.StartAsync((IPEndPoint)listener.LocalEndPoint!, mode, configure: o => o.Cores = CpuSet.Parse(cores));
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = QueuedBytesThenReset.SlowReceiveBuffer };
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        using var server = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
        server.SendBufferSize = QueuedBytesThenReset.RoomySendBuffer;
        await relay.Forwarding.Task.WaitAsync(Clients.Timeout);

        var sent = QueuedBytesThenReset.Payload(21);
        await QueuedBytesThenReset.SendAcknowledgedThenResetAsync(server, sent);
        var (received, reset) = await QueuedBytesThenReset.ReadUntilClosedAsync(client);

        QueuedBytesThenReset.AssertEveryByteThenReset(sent, received, reset, "client");
        await AssertFailedForwardAsync(relay, mode);
    }

    [Theory]
    [MemberData(nameof(SpliceCases))]
    [MemberData(nameof(CopyCases))]
    public async Task A_slow_server_gets_every_byte_a_client_sent_before_its_reset_then_a_reset(ForwardingMode mode, string cores)
    {
        using var listener = QueuedBytesThenReset.Listen(receiveBuffer: QueuedBytesThenReset.SlowReceiveBuffer); // accepted sockets inherit it
        await using var relay = await RelayServer.StartAsync((IPEndPoint)listener.LocalEndPoint!, mode, configure: o => o.Cores = CpuSet.Parse(cores));
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { SendBufferSize = QueuedBytesThenReset.RoomySendBuffer };
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        using var server = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
        await relay.Forwarding.Task.WaitAsync(Clients.Timeout);

        var sent = QueuedBytesThenReset.Payload(22);
        await QueuedBytesThenReset.SendAcknowledgedThenResetAsync(client, sent);
        var (received, reset) = await QueuedBytesThenReset.ReadUntilClosedAsync(server);

        QueuedBytesThenReset.AssertEveryByteThenReset(sent, received, reset, "server");
        await AssertFailedForwardAsync(relay, mode);
    }

    [Theory]
    [MemberData(nameof(SpliceCases))]
    [MemberData(nameof(CopyCases))]
    public async Task A_slow_client_that_resets_too_ends_the_delivery_at_once_instead_of_when_it_runs_out(ForwardingMode mode, string cores)
    {
        // The delivery wait lengthened far past Eventually's 30 s: a forward that ends within them ended because the
        // client was gone, not because the wait ran out. Event-based: no clock is read.
        var options = new ForwardingOptions { QueuedOutputTimeout = TimeSpan.FromMinutes(10) };
        using var listener = QueuedBytesThenReset.Listen(receiveBuffer: 0);
        await using var relay = await RelayServer.StartAsync((IPEndPoint)listener.LocalEndPoint!, mode, options, configure: o => o.Cores = CpuSet.Parse(cores));
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = QueuedBytesThenReset.SlowReceiveBuffer };
        await client.ConnectAsync(relay.EndPoint).WaitAsync(Clients.Timeout);
        using var server = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
        server.SendBufferSize = QueuedBytesThenReset.RoomySendBuffer;
        await relay.Forwarding.Task.WaitAsync(Clients.Timeout);
        string relayToServer = OpenSockets.InodeOf((IPEndPoint)server.RemoteEndPoint!, (IPEndPoint)server.LocalEndPoint!);

        // The server resets with bytes queued for the client, which does not read: the relay closes its socket to the
        // server at once and waits for the client's queue to empty before resetting it.
        await QueuedBytesThenReset.SendAcknowledgedThenResetAsync(server, QueuedBytesThenReset.Payload(23));
        await Eventually.AssertAsync(() => !OpenSockets.IsOpen(relayToServer), () => "the relay still holds its socket to the server that reset");

        // Then the client resets as well: the queue towards it can never empty, so the wait must end now.
        client.LingerState = new LingerOption(true, 0);
        client.Close();
        await Eventually.AssertAsync(
            () => !relay.Results.IsEmpty && relay.Server.GetStats().Sum(s => s.Active) == 0,
            () => $"the relay still waits to deliver to a client that reset (forward ended: {!relay.Results.IsEmpty})");
        Assert.True(relay.Results.TryDequeue(out var result));
        Assert.Equal(mode, result.Mode);
        Assert.NotNull(result.Error);
    }

    /// <summary>The forward ended with the reset as its error, in the mode asked for (splice did not fall back to copy).</summary>
    private static async Task AssertFailedForwardAsync(RelayServer relay, ForwardingMode mode)
    {
        await Eventually.AssertAsync(() => !relay.Results.IsEmpty, () => "the forward did not end");
        Assert.True(relay.Results.TryDequeue(out var result));
        Assert.Equal(mode, result.Mode);
        Assert.True(result.Error is not null, $"the forward ended without an error ({result.FirstToSecond} B / {result.SecondToFirst} B)");
        await Eventually.AssertAsync(() => relay.Server.GetStats().Sum(s => s.Active) == 0, () => "the relay's connections did not close");
    }
}
