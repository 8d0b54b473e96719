using System.Net;
using System.Net.Sockets;
using Fastsock.Native;

namespace Fastsock.Transport;

/// <summary>Listening-socket setup, with errors that say what to do.</summary>
internal static unsafe class ListenSocket
{
    public static int Open(IPEndPoint endPoint, bool reusePort, int incomingCpu, int backlog, bool noDelay)
    {
        int fd = CreateBound(endPoint, reusePort, nonBlocking: true);
        try
        {
            if (noDelay)
            {
                // Inherited by every accepted socket: saves a setsockopt per connection.
                SocketCalls.SetInt(fd, SocketCalls.IPPROTO_TCP, SocketCalls.TCP_NODELAY, 1, $"TCP_NODELAY, {endPoint}");
            }

            if (incomingCpu >= 0)
            {
                SocketCalls.SetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_INCOMING_CPU, incomingCpu, $"SO_INCOMING_CPU, {endPoint}");
            }

            if (SocketCalls.Listen(fd, backlog) != 0)
            {
                throw Errno.Exception($"listen({endPoint})");
            }

            return fd;
        }
        catch
        {
            FileCalls.Close(fd);
            throw;
        }
    }

    /// <summary>An AF_UNIX listening socket on <paramref name="endPoint"/> (a path, or <c>@name</c> for an abstract one).</summary>
    public static int OpenUnix(UnixDomainSocketEndPoint endPoint, int backlog)
    {
        var address = UnixSocketAddress.From(endPoint);
        int fd = SocketCalls.Socket(SocketCalls.AF_UNIX, SocketCalls.SOCK_STREAM | SocketCalls.SOCK_CLOEXEC | SocketCalls.SOCK_NONBLOCK, 0);
        if (fd < 0)
        {
            throw Errno.Exception($"socket(unix:{address})");
        }

        try
        {
            fixed (byte* pointer = address.Bytes)
            {
                if (SocketCalls.Bind(fd, pointer, address.Length) != 0)
                {
                    int errno = Errno.Last;
                    throw new NativeCallException($"bind(unix:{address})", errno, errno == Errno.EADDRINUSE
                        ? "The socket file exists: stop the process that listens on it, or delete the file if none does."
                        : null);
                }
            }

            if (SocketCalls.Listen(fd, backlog) != 0)
            {
                throw Errno.Exception($"listen(unix:{address})");
            }

            return fd;
        }
        catch
        {
            FileCalls.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Prepares a listening socket received from another process (a takeover or systemd) for this worker: non-blocking,
    /// the worker's CPU, this server's backlog. It stays in its reuseport group: nothing here unbinds it.
    /// </summary>
    public static void Adopt(int fd, IPEndPoint endPoint, int incomingCpu, int backlog, bool noDelay)
    {
        int flags = PathCalls.Control(fd, PathCalls.F_GETFL, 0);
        if (flags < 0 || PathCalls.Control(fd, PathCalls.F_SETFL, flags | PathCalls.O_NONBLOCK) < 0)
        {
            throw Errno.Exception($"fcntl(O_NONBLOCK, inherited {endPoint})");
        }

        PathCalls.Control(fd, PathCalls.F_SETFD, PathCalls.FD_CLOEXEC);
        if (noDelay)
        {
            SocketCalls.SetInt(fd, SocketCalls.IPPROTO_TCP, SocketCalls.TCP_NODELAY, 1, $"TCP_NODELAY, inherited {endPoint}");
        }

        if (incomingCpu >= 0)
        {
            SocketCalls.SetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_INCOMING_CPU, incomingCpu, $"SO_INCOMING_CPU, inherited {endPoint}");
        }

        // listen() on a listening socket only changes its backlog; its queue and group membership stay.
        if (SocketCalls.Listen(fd, backlog) != 0)
        {
            throw Errno.Exception($"listen(inherited {endPoint})");
        }
    }

    /// <summary>
    /// A reuseport bind succeeds on a port that another reuseport socket of the same user holds, silently sharing
    /// its traffic. A plain bind first tells "port in use" apart.
    /// </summary>
    public static void EnsurePortFree(IPEndPoint endPoint) => FileCalls.Close(CreateBound(endPoint, reusePort: false, nonBlocking: false));

    private static int CreateBound(IPEndPoint endPoint, bool reusePort, bool nonBlocking)
    {
        int family = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? SocketCalls.AF_INET6 : SocketCalls.AF_INET;
        int type = SocketCalls.SOCK_STREAM | SocketCalls.SOCK_CLOEXEC | (nonBlocking ? SocketCalls.SOCK_NONBLOCK : 0);
        int fd = SocketCalls.Socket(family, type, 0);
        if (fd < 0)
        {
            throw Errno.Exception($"socket({endPoint})");
        }

        try
        {
            SocketCalls.SetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEADDR, 1, $"SO_REUSEADDR, {endPoint}");
            if (reusePort)
            {
                SocketCalls.SetInt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEPORT, 1, $"SO_REUSEPORT, {endPoint}");
            }

            if (family == SocketCalls.AF_INET6)
            {
                SocketCalls.SetInt(fd, SocketCalls.IPPROTO_IPV6, SocketCalls.IPV6_V6ONLY, 1, $"IPV6_V6ONLY, {endPoint}");
            }

            Bind(fd, endPoint);
            return fd;
        }
        catch
        {
            FileCalls.Close(fd);
            throw;
        }
    }

    private static void Bind(int fd, IPEndPoint endPoint)
    {
        var address = RawSocketAddress.From(endPoint);
        Span<byte> bytes = address;
        fixed (byte* pointer = bytes)
        {
            if (SocketCalls.Bind(fd, pointer, address.Length) == 0)
            {
                return;
            }
        }

        int errno = Errno.Last;
        string? hint = errno switch
        {
            Errno.EADDRINUSE => "Another process listens on this port: stop it or choose another port.",
            Errno.EADDRNOTAVAIL => "This address is not on any local interface: use one that is (ip addr), or 0.0.0.0.",
            Errno.EACCES => "Ports below 1024 need root or CAP_NET_BIND_SERVICE: choose a port above 1023.",
            _ => null,
        };
        throw new NativeCallException($"bind({endPoint})", errno, hint);
    }

    public static IPEndPoint LocalEndPoint(int fd)
    {
        var address = default(RawSocketAddress);
        Span<byte> bytes = address;
        int length = RawSocketAddress.Size;
        fixed (byte* pointer = bytes)
        {
            if (SocketCalls.GetSockName(fd, pointer, &length) != 0)
            {
                throw Errno.Exception("getsockname");
            }
        }

        return address.ToEndPoint()!;
    }
}
