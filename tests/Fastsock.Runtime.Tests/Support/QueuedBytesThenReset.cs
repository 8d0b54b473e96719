using System.Net;
using System.Net.Sockets;
using Fastsock.Native;

namespace Fastsock.Tests.Support;

/// <summary>
/// The peers of a forward whose one side resets while the other is slow to read: the failing peer sends everything,
/// waits until the forwarder's socket has acknowledged it all (its own send queue empty, SIOCOUTQ 0), then resets; the
/// slow peer (a small receive buffer) reads only after that. The bytes are then in the forwarder's kernel queues and
/// pipes, not in flight, when the failure reaches it: the slow peer gets them all only if the forwarder waits for them.
/// </summary>
internal static class QueuedBytesThenReset
{
    public const int Bytes = 2 * 1024 * 1024;
    public const int SlowReceiveBuffer = 64 * 1024;
    public const int RoomySendBuffer = 4 * 1024 * 1024; // net.core.wmem_max's usual value; the kernel doubles it

    /// <summary>One case per worker set (1 and 2 workers) for the forwarding mode given.</summary>
    public static TheoryData<TMode, string> Cases<TMode>(TMode mode)
    {
        var data = new TheoryData<TMode, string>();
        foreach (var cores in CoreSets.OneAndTwoWorkers)
        {
            data.Add(mode, cores);
        }

        return data;
    }

    /// <summary>A loopback listener; <paramref name="receiveBuffer"/> &gt; 0 sets SO_RCVBUF, which accepted sockets inherit.</summary>
    public static Socket Listen(int receiveBuffer)
    {
        var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        if (receiveBuffer > 0)
        {
            listener.ReceiveBufferSize = receiveBuffer;
        }

        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        return listener;
    }

    public static byte[] Payload(int seed)
    {
        var payload = new byte[Bytes];
        new Random(seed).NextBytes(payload);
        return payload;
    }

    /// <summary>Sends <paramref name="payload"/>, waits until the peer has acknowledged every byte, then resets (SO_LINGER 0).</summary>
    public static async Task SendAcknowledgedThenResetAsync(Socket socket, byte[] payload)
    {
        int sent = 0;
        while (sent < payload.Length)
        {
            sent += await socket.SendAsync(payload.AsMemory(sent), SocketFlags.None).AsTask().WaitAsync(Clients.Timeout);
        }

        int fd = (int)socket.SafeHandle.DangerousGetHandle();
        await Eventually.AssertAsync(() => Unacknowledged(fd) == 0, () => $"{Unacknowledged(fd)} B of the {payload.Length} B sent are still not acknowledged by the forwarder");
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    /// <summary>Every byte received until the peer closed, and whether it closed with a reset.</summary>
    public static async Task<(byte[] Received, bool Reset)> ReadUntilClosedAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Clients.Timeout)) > 0)
            {
                received.Write(buffer, 0, n);
            }

            return (received.ToArray(), false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset)
        {
            return (received.ToArray(), true);
        }
    }

    /// <summary>
    /// <paramref name="reader"/> got every byte <paramref name="sent"/> in order, then a reset: a FIN would tell it the
    /// stream ended well when its sender failed.
    /// </summary>
    public static void AssertEveryByteThenReset(byte[] sent, byte[] received, bool reset, string reader)
    {
        Assert.True(received.Length == sent.Length, $"the {reader} got {received.Length} of the {sent.Length} B sent before the reset (reset: {reset})");
        Assert.True(received.AsSpan().SequenceEqual(sent), $"the bytes the {reader} got differ from those sent");
        Assert.True(reset, $"the {reader}'s connection ended with a FIN after the bytes: it cannot tell the stream was cut");
    }

    private static unsafe int Unacknowledged(int fd)
    {
        int queued = 0;
        return IoctlCalls.Ioctl(fd, IoctlCalls.SIOCOUTQ, &queued) == 0 ? queued : -1;
    }
}
