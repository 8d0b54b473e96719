using System.Runtime.InteropServices;

namespace Fastsock.Native;

/// <summary>Zero-copy forwarding: <c>splice(2)</c> between a socket and a kernel pipe, and the pipes themselves.</summary>
internal static unsafe partial class SpliceCalls
{
    [LibraryImport("libc", EntryPoint = "splice", SetLastError = true)]
    public static partial nint Splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    public const uint SPLICE_F_MOVE = 1;
    public const uint SPLICE_F_NONBLOCK = 2;

    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    public const int F_SETPIPE_SZ = 1031;
    public const int F_GETPIPE_SZ = 1032;
}
