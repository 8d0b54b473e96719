using System.Runtime.InteropServices;

namespace Fastsock.Native;

/// <summary>
/// <c>sendmsg</c>/<c>recvmsg</c> with SCM_RIGHTS: file descriptors passed over an AF_UNIX socket. The receiver gets new
/// descriptors for the same open files (the same listening sockets), not copies of them.
/// </summary>
internal static unsafe partial class DescriptorPassingCalls
{
    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMessage(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint ReceiveMessage(int fd, MessageHeader* message, int flags);

    public const int SOCK_SEQPACKET = 5;
    public const int SCM_RIGHTS = 1;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;
    public const int MSG_CTRUNC = 0x8;
    public const int SO_RCVTIMEO = 20;
    public const int SO_SNDTIMEO = 21;
    public const int SO_ACCEPTCONN = 30;
    public const int SO_TYPE = 3;

    /// <summary>SCM_MAX_FD: the kernel refuses more descriptors in one message.</summary>
    public const int MaxDescriptorsPerMessage = 253;

    /// <summary><c>CMSG_SPACE(count * sizeof(int))</c> on x86-64 (16-byte header, 8-byte alignment).</summary>
    public static int ControlSpace(int count) => ControlHeaderSize + Align(count * sizeof(int));

    /// <summary><c>CMSG_LEN(count * sizeof(int))</c>.</summary>
    public static int ControlLength(int count) => ControlHeaderSize + (count * sizeof(int));

    public const int ControlHeaderSize = 16;

    private static int Align(int length) => (length + 7) & ~7;
}

/// <summary><c>struct msghdr</c> (x86-64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MessageHeader
{
    public void* Name;
    public uint NameLength;
    public IoVector* Vectors;
    public nuint VectorCount;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary><c>struct cmsghdr</c> (x86-64): the descriptors follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ControlMessageHeader
{
    public nuint Length;
    public int Level;
    public int Type;
}
