using Fastsock.Native;

namespace Fastsock.Transport;

internal sealed unsafe partial class WorkerConnector
{
    /// <summary>A non-blocking connect on an AF_UNIX stream socket: no source port to choose. Worker thread only.</summary>
    private void ConnectUnix(OutboundConnection connection, CancellationToken cancellationToken)
    {
        var address = connection.UnixAddress;
        int fd = SocketCalls.Socket(SocketCalls.AF_UNIX, SocketCalls.SOCK_STREAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw Errno.Exception($"socket(for {address})");
        }

        int errno = TryConnectUnix(fd, address);
        switch (errno)
        {
            case 0:
                connection.Established(fd);
                return;
            case Errno.EAGAIN:
                connection.RetryUnixConnect(fd, Options.ConnectTimeout, cancellationToken);
                return;
            case Errno.EINPROGRESS:
                // Not what Linux does for AF_UNIX, but the TCP path knows how to wait for it.
                FinishConnect(connection, fd, errno, bound: false, cancellationToken);
                return;
            default:
                FileCalls.Close(fd);
                throw new NativeCallException($"connect({address})", errno, errno is Errno.ENOENT or Errno.ECONNREFUSED
                    ? "Is the backend listening on that unix socket?" : null);
        }
    }

    /// <summary>Returns 0, EAGAIN (backlog full) or the errno of <c>connect</c>.</summary>
    internal static int TryConnectUnix(int fd, UnixSocketAddress address)
    {
        fixed (byte* bytes = address.Bytes)
        {
            while (true)
            {
                if (SocketCalls.Connect(fd, bytes, address.Length) == 0)
                {
                    return 0;
                }

                int errno = Errno.Last;
                if (errno != Errno.EINTR)
                {
                    return errno;
                }
            }
        }
    }
}
