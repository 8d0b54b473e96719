using System.Net.Sockets;
using Fastsock.Hosting.Handover;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Hosting;

/// <summary>
/// The hand-over channel's receive and send timeouts (SO_RCVTIMEO/SO_SNDTIMEO) round the Handover.Timeout up to the
/// millisecond: truncated, a positive timeout under a millisecond became { 0 s, 0 µs }, which the kernel reads as
/// "wait forever". A real AF_UNIX SOCK_SEQPACKET peer that connects and says nothing.
/// </summary>
public sealed class HandoverChannelTimeoutTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"fastsock-silent-{Guid.NewGuid():N}.sock");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public async Task A_hand_over_timeout_under_a_millisecond_gives_up_on_a_silent_peer_instead_of_waiting_forever()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(_path));
        listener.Listen(1);
        using var channel = HandoverChannel.Connect(_path, TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 2));
        using var silentPeer = await listener.AcceptAsync().WaitAsync(Clients.Timeout);

        var receiving = Task.Factory.StartNew(() => Record.Exception(() => channel.ReceiveText()), TaskCreationOptions.LongRunning);
        try
        {
            var error = await receiving.WaitAsync(Clients.Timeout);
            Assert.IsType<TimeoutException>(error);
        }
        finally
        {
            // Failed (still blocked): the peer's close ends the receive, so no thread is left waiting.
            silentPeer.Close();
            await receiving.WaitAsync(Clients.Timeout);
        }
    }
}
