using System.Net.Sockets;
using System.Text;
using Fastsock.Hosting.Handover;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Hosting;

/// <summary>
/// <see cref="Fastsock.Hosting.ListenerHandoverOptions.Timeout"/> takes <see cref="Timeout.InfiniteTimeSpan"/> as
/// "wait for the other process as long as it takes", as <see cref="Fastsock.Transport.ConnectionOptions.IdleTimeout"/>
/// does (it was refused at start). On the hand-over socket that is SO_RCVTIMEO/SO_SNDTIMEO { 0, 0 }, and only that:
/// a positive timeout under a millisecond still gives up (HandoverChannelTimeoutTests). Zero and other negative values
/// are still refused in one line.
/// </summary>
public sealed class InfiniteHandoverTimeoutTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"fastsock-inf-ho-{Guid.NewGuid():N}.sock");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public async Task With_an_infinite_hand_over_timeout_a_successor_takes_the_listeners_and_serves()
    {
        await using var old = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.OfferPath = _path;
            o.Handover.Timeout = Timeout.InfiniteTimeSpan;
        });

        await using var successor = await TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.TakeOverFrom = _path;
            o.Handover.Timeout = Timeout.InfiniteTimeSpan;
        });

        await old.HandedOver.WaitAsync(Clients.Timeout);
        Assert.Equal(old.EndPoints, successor.EndPoints);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(successor.EndPoints[0]).WaitAsync(Clients.Timeout);
        Assert.Equal("ping"u8.ToArray(), await Clients.RoundTripAsync(client, "ping"u8.ToArray()));
    }

    [Fact]
    public async Task With_an_infinite_hand_over_timeout_the_channel_waits_for_a_silent_peer_until_it_speaks()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(_path));
        listener.Listen(1);
        using var channel = HandoverChannel.Connect(_path, Timeout.InfiniteTimeSpan);
        using var peer = await listener.AcceptAsync().WaitAsync(Clients.Timeout);

        var receiving = Task.Factory.StartNew(channel.ReceiveText, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            // Any timeout the kernel would apply (a wrongly armed 1 ms, or the -1 ms it refuses) has ended the wait by now.
            if (await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromSeconds(1))) == receiving)
            {
                var ended = await Record.ExceptionAsync(() => receiving);
                Assert.Fail($"the receive ended before the peer spoke: {ended?.GetType().Name} {ended?.Message}");
            }

            await peer.SendAsync(Encoding.UTF8.GetBytes("offer")).WaitAsync(Clients.Timeout);
            Assert.Equal("offer", await receiving.WaitAsync(Clients.Timeout));
        }
        finally
        {
            peer.Close(); // ends a receive still blocked, so no thread is left waiting
            await Task.WhenAny(receiving, Task.Delay(Clients.Timeout));
        }
    }

    [Theory]
    [MemberData(nameof(RefusedTimeouts.InTicks), MemberType = typeof(RefusedTimeouts))]
    public async Task A_zero_or_negative_hand_over_timeout_is_refused_at_start_in_one_line_naming_it(long ticks)
    {
        var timeout = TimeSpan.FromTicks(ticks);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => TestServers.StartAsync(TestServers.Echo, o =>
        {
            o.Cores = CoreSets.First;
            o.Handover.Timeout = timeout;
        }));

        Assert.Equal(
            $"Handover.Timeout {timeout} is not positive; give a positive time (e.g. 00:00:30), or Timeout.InfiniteTimeSpan to wait for the other process as long as it takes.",
            refused.Message);
    }
}
