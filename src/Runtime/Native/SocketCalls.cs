using System.Runtime.InteropServices;

namespace Fastsock.Native;

internal static unsafe partial class SocketCalls
{
    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, byte* address, int* addressLength, int flags);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, byte* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Receive(int fd, byte* buffer, nint count, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nint count, int flags);

    /// <summary>No SIGPIPE on a peer that has gone: the error comes back as EPIPE.</summary>
    public const int MSG_NOSIGNAL = 0x4000;

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetOption(int fd, int level, int name, void* value, int valueLength);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetOption(int fd, int level, int name, void* value, int* valueLength);

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, byte* address, int* addressLength);

    [LibraryImport("libc", EntryPoint = "getpeername", SetLastError = true)]
    public static partial int GetPeerName(int fd, byte* address, int* addressLength);

    public const int AF_UNIX = 1;
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;

    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_ERROR = 4;
    public const int SO_LINGER = 13;
    public const int SO_REUSEPORT = 15;
    public const int SO_ATTACH_REUSEPORT_CBPF = 51;
    public const int SO_INCOMING_CPU = 49;

    public const int IPPROTO_TCP = 6;
    public const int IPPROTO_IPV6 = 41;
    public const int TCP_NODELAY = 1;
    public const int TCP_INFO = 11;

    /// <summary><c>tcpi_state</c> (the first byte of <c>struct tcp_info</c>) of a connection that is gone: reset or failed.</summary>
    public const byte TCP_CLOSE = 7;
    public const int IPV6_V6ONLY = 26;

    public const int SHUT_RD = 0;
    public const int SHUT_WR = 1;

    public static void SetInt(int fd, int level, int name, int value, string what)
    {
        if (SetOption(fd, level, name, &value, sizeof(int)) != 0)
        {
            throw Errno.Exception($"setsockopt({what})");
        }
    }

    /// <summary>Returns the option's value, or -1 when the kernel refuses.</summary>
    public static int GetInt(int fd, int level, int name)
    {
        int value = -1;
        int length = sizeof(int);
        return GetOption(fd, level, name, &value, &length) == 0 ? value : -1;
    }
}
