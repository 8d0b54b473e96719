using System.Net.Sockets;
using System.Text;
using Fastsock.Engine;
using Fastsock.Native;

namespace Fastsock.Hosting.Handover;

/// <summary>
/// One connected AF_UNIX SOCK_SEQPACKET socket between the running server and its successor. Seqpacket keeps each
/// message whole, so a text line and the batch of descriptors that follows it never run together. Blocking, with a
/// receive and send timeout: a peer that hangs cannot hold either process forever.
/// </summary>
internal sealed unsafe class HandoverChannel : IDisposable
{
    private const int MaxTextBytes = 64 * 1024;
    private int _fd;

    public HandoverChannel(int fd, TimeSpan timeout)
    {
        _fd = fd;
        try
        {
            SetTimeout(DescriptorPassingCalls.SO_RCVTIMEO, "SO_RCVTIMEO", timeout);
            SetTimeout(DescriptorPassingCalls.SO_SNDTIMEO, "SO_SNDTIMEO", timeout);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Connects to the running server's hand-over socket at <paramref name="path"/>.</summary>
    public static HandoverChannel Connect(string path, TimeSpan timeout)
    {
        var address = UnixSocketAddress.From(new UnixDomainSocketEndPoint(path));
        int fd = SocketCalls.Socket(SocketCalls.AF_UNIX, DescriptorPassingCalls.SOCK_SEQPACKET | SocketCalls.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw Errno.Exception($"socket(AF_UNIX, {path})");
        }

        fixed (byte* pointer = address.Bytes)
        {
            if (SocketCalls.Connect(fd, pointer, address.Length) != 0)
            {
                var error = Errno.Exception($"connect({path})");
                FileCalls.Close(fd);
                throw error;
            }
        }

        return new HandoverChannel(fd, timeout);
    }

    public void SendText(string text) => Send(Encoding.UTF8.GetBytes(text), []);

    /// <summary>Sends <paramref name="bytes"/> as one message (a secret: the caller zeroes its buffer after).</summary>
    public void SendBytes(ReadOnlySpan<byte> bytes) => Send(bytes, []);

    /// <summary>Receives one message of exactly <paramref name="destination"/>'s length; throws on any other.</summary>
    public void ReceiveBytes(Span<byte> destination, string what)
    {
        Span<byte> buffer = stackalloc byte[destination.Length + 1]; // one more: a longer message shows as too long
        try
        {
            int length = Receive(buffer, [], out _);
            if (length != destination.Length)
            {
                throw new IOException($"the running server sent {length} B of {what}, not {destination.Length} B");
            }

            buffer[..length].CopyTo(destination);
        }
        finally
        {
            buffer.Clear();
        }
    }

    /// <summary>Sends <paramref name="fds"/> in as many messages as SCM_MAX_FD needs.</summary>
    public void SendDescriptors(IReadOnlyList<int> fds)
    {
        for (int start = 0; start < fds.Count; start += DescriptorPassingCalls.MaxDescriptorsPerMessage)
        {
            int count = Math.Min(DescriptorPassingCalls.MaxDescriptorsPerMessage, fds.Count - start);
            var batch = new int[count];
            for (int i = 0; i < count; i++)
            {
                batch[i] = fds[start + i];
            }

            Send("F"u8.ToArray(), batch);
        }
    }

    /// <summary>The next text message; null when the peer closed the connection.</summary>
    public string? ReceiveText()
    {
        var buffer = new byte[MaxTextBytes];
        int length = Receive(buffer, [], out _);
        return length == 0 ? null : Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>Receives exactly <paramref name="count"/> descriptors (close-on-exec), in the order they were sent.</summary>
    public int[] ReceiveDescriptors(int count)
    {
        var fds = new List<int>(count);
        try
        {
            while (fds.Count < count)
            {
                var batch = new int[Math.Min(DescriptorPassingCalls.MaxDescriptorsPerMessage, count - fds.Count)];
                var payload = new byte[1];
                int length = Receive(payload, batch, out int received);
                fds.AddRange(batch.AsSpan(0, received));
                if (length == 0 || received != batch.Length)
                {
                    throw new IOException($"the running server sent {fds.Count} of {count} listening sockets and stopped");
                }
            }

            return [.. fds];
        }
        catch
        {
            foreach (int fd in fds)
            {
                FileCalls.Close(fd);
            }

            throw;
        }
    }

    private void Send(ReadOnlySpan<byte> payload, int[] fds)
    {
        int controlSpace = fds.Length == 0 ? 0 : DescriptorPassingCalls.ControlSpace(fds.Length);
        byte* control = stackalloc byte[Math.Max(controlSpace, 1)];
        new Span<byte>(control, Math.Max(controlSpace, 1)).Clear();
        fixed (byte* data = payload)
        {
            var vector = new IoVector { Base = data, Length = (nuint)payload.Length };
            var message = new MessageHeader { Vectors = &vector, VectorCount = 1 };
            if (fds.Length > 0)
            {
                var header = (ControlMessageHeader*)control;
                header->Length = (nuint)DescriptorPassingCalls.ControlLength(fds.Length);
                header->Level = SocketCalls.SOL_SOCKET;
                header->Type = DescriptorPassingCalls.SCM_RIGHTS;
                fds.AsSpan().CopyTo(new Span<int>(control + DescriptorPassingCalls.ControlHeaderSize, fds.Length));
                message.Control = control;
                message.ControlLength = (nuint)controlSpace;
            }

            while (DescriptorPassingCalls.SendMessage(_fd, &message, DescriptorPassingCalls.MSG_NOSIGNAL) < 0)
            {
                if (Errno.Last != Errno.EINTR)
                {
                    throw Errno.Exception("sendmsg(hand-over socket)");
                }
            }
        }
    }

    private int Receive(Span<byte> payload, int[] fds, out int received)
    {
        int controlSpace = DescriptorPassingCalls.ControlSpace(Math.Max(fds.Length, 1));
        byte* control = stackalloc byte[controlSpace];
        new Span<byte>(control, controlSpace).Clear();
        fixed (byte* data = payload)
        {
            var vector = new IoVector { Base = data, Length = (nuint)payload.Length };
            var message = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = control, ControlLength = (nuint)controlSpace };
            nint length;
            while ((length = DescriptorPassingCalls.ReceiveMessage(_fd, &message, DescriptorPassingCalls.MSG_CMSG_CLOEXEC)) < 0)
            {
                int errno = Errno.Last;
                if (errno == Errno.EAGAIN)
                {
                    throw new TimeoutException("the other process did not answer on the hand-over socket in time");
                }

                if (errno != Errno.EINTR)
                {
                    throw Errno.Exception("recvmsg(hand-over socket)");
                }
            }

            received = 0;
            if (message.ControlLength >= (nuint)DescriptorPassingCalls.ControlHeaderSize)
            {
                var header = (ControlMessageHeader*)control;
                if (header->Level == SocketCalls.SOL_SOCKET && header->Type == DescriptorPassingCalls.SCM_RIGHTS)
                {
                    int count = (int)(((long)header->Length - DescriptorPassingCalls.ControlHeaderSize) / sizeof(int));
                    var arrived = new ReadOnlySpan<int>(control + DescriptorPassingCalls.ControlHeaderSize, count);
                    for (int i = 0; i < count; i++)
                    {
                        if (i < fds.Length)
                        {
                            fds[i] = arrived[i];
                            received++;
                        }
                        else
                        {
                            FileCalls.Close(arrived[i]); // more than asked for: not ours to keep
                        }
                    }
                }
            }

            if ((message.Flags & DescriptorPassingCalls.MSG_CTRUNC) != 0)
            {
                // The kernel installed what fit: ours to close, since the caller gets an exception instead of them.
                for (int i = 0; i < received; i++)
                {
                    FileCalls.Close(fds[i]);
                    fds[i] = -1;
                }

                received = 0;
                throw new IOException("the listening sockets did not fit in the message (MSG_CTRUNC); the fd limit (ulimit -n) may be too low");
            }

            return (int)length;
        }
    }

    private void SetTimeout(int option, string optionName, TimeSpan timeout)
    {
        // { 0, 0 } is the kernel's "wait forever": only Timeout.InfiniteTimeSpan may become it. A positive timeout is
        // rounded up to the millisecond as every deadline (TimerWheel.Milliseconds): truncated, one under a millisecond
        // became { 0, 0 } too.
        long milliseconds = timeout == Timeout.InfiniteTimeSpan ? 0 : TimerWheel.Milliseconds(timeout);
        long* value = stackalloc long[2];
        value[0] = milliseconds / 1000;
        value[1] = milliseconds % 1000 * 1000;
        if (SocketCalls.SetOption(_fd, SocketCalls.SOL_SOCKET, option, value, 2 * sizeof(long)) != 0)
        {
            // Without it a silent peer would block this process's hand-over for ever instead of for the timeout.
            throw Errno.Exception($"setsockopt(hand-over socket, {optionName}, {milliseconds} ms)");
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            FileCalls.Close(fd);
        }
    }
}
