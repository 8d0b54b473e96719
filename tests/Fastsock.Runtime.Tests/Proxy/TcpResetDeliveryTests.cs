using System.Net;
using System.Net.Sockets;
using Fastsock.Tests.Samples;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// fastsock-proxy in tcp mode, plain TCP both sides: one side resets while megabytes it sent sit in the proxy, queued
/// for a slow reader on the other side; the reader gets every one of them, then a reset (as when a TLS side sends a bad
/// record, <see cref="TcpTlsBadRecordDeliveryTests"/>). <c>forwarding: copy</c> and <c>splice</c> are held to the same
/// cases, each way, with one worker and with two (in copy mode the bytes still in the failed side's input pipe come
/// before its reset: the worker pipe delivers a writer's bytes before its error).
/// </summary>
[Trait("Category", "Slow")] // real processes, megabytes, and a reader that waits for the reset
public sealed class TcpResetDeliveryTests : HttpProxyHarness
{
    public static TheoryData<string, string> SpliceCases => QueuedBytesThenReset.Cases("splice");

    public static TheoryData<string, string> CopyCases => QueuedBytesThenReset.Cases("copy");

    [Theory]
    [MemberData(nameof(SpliceCases))]
    [MemberData(nameof(CopyCases))]
    public async Task A_slow_client_gets_every_byte_a_server_sent_before_its_reset_then_a_reset(string forwarding, string cores)
    {
        using var listener = QueuedBytesThenReset.Listen(receiveBuffer: 0);
        var (proxy, frontend, admin) = await StartAsync(listener, forwarding, cores);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = QueuedBytesThenReset.SlowReceiveBuffer };
        await client.ConnectAsync(frontend).WaitAsync(Clients.Timeout);
        using var server = await listener.AcceptAsync().WaitAsync(Clients.Timeout);
        server.SendBufferSize = QueuedBytesThenReset.RoomySendBuffer;

        var sent = QueuedBytesThenReset.Payload(31);
        await QueuedBytesThenReset.SendAcknowledgedThenResetAsync(server, sent);
        var (received, reset) = await QueuedBytesThenReset.ReadUntilClosedAsync(client);

        QueuedBytesThenReset.AssertEveryByteThenReset(sent, received, reset, "client");
        await AssertForwardedAsync(proxy, admin, forwarding);
    }

    [Theory]
    [MemberData(nameof(SpliceCases))]
    [MemberData(nameof(CopyCases))]
    public async Task A_slow_server_gets_every_byte_a_client_sent_before_its_reset_then_a_reset(string forwarding, string cores)
    {
        using var listener = QueuedBytesThenReset.Listen(receiveBuffer: QueuedBytesThenReset.SlowReceiveBuffer); // accepted sockets inherit it
        var (proxy, frontend, admin) = await StartAsync(listener, forwarding, cores);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { SendBufferSize = QueuedBytesThenReset.RoomySendBuffer };
        await client.ConnectAsync(frontend).WaitAsync(Clients.Timeout);
        using var server = await listener.AcceptAsync().WaitAsync(Clients.Timeout);

        var sent = QueuedBytesThenReset.Payload(32);
        await QueuedBytesThenReset.SendAcknowledgedThenResetAsync(client, sent);
        var (received, reset) = await QueuedBytesThenReset.ReadUntilClosedAsync(server);

        QueuedBytesThenReset.AssertEveryByteThenReset(sent, received, reset, "server");
        await AssertForwardedAsync(proxy, admin, forwarding);
    }

    private async Task<(SampleProcess Proxy, IPEndPoint Frontend, IPEndPoint Admin)> StartAsync(Socket listener, string forwarding, string cores)
    {
        var (proxy, _) = await StartProxyWithConfigAsync($$"""
            { "admin": { "bind": "127.0.0.1:0" }, "forwarding": "{{forwarding}}",
              "frontends": [ { "name": "raw", "bind": ["127.0.0.1:0"], "mode": "tcp", "backend": "b" } ],
              "backends": [ { "name": "b", "servers": [ { "name": "s1", "address": "127.0.0.1:{{((IPEndPoint)listener.LocalEndPoint!).Port}}" } ] } ] }
            """, cores: cores);
        return (proxy, await proxy.ListeningOnAsync("frontend raw"), await proxy.ListeningOnAsync("admin"));
    }

    /// <summary>The bytes went the way asked for (spliced, or copied), and the proxy reported no trouble of its own.</summary>
    private static async Task AssertForwardedAsync(SampleProcess proxy, IPEndPoint admin, string forwarding)
    {
        using (var stats = await RawHttpClient.ConnectAsync(admin))
        {
            var json = await AdminStatsTests.PollJsonAsync(stats, _ => true);
            long spliced = BytesSpliced(json);
            Assert.True(forwarding == "splice" ? spliced >= QueuedBytesThenReset.Bytes : spliced == 0, $"{spliced} B were spliced with forwarding {forwarding}");
        }

        Assert.True(proxy.Stderr.Length == 0, $"the proxy wrote to stderr: {proxy.Stderr}");
        Assert.DoesNotContain("Exception", proxy.Stdout, StringComparison.Ordinal);
    }
}
