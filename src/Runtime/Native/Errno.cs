using System.Runtime.InteropServices;

namespace Fastsock.Native;

/// <summary>The errno values the runtime reacts to, and their symbolic names for error messages.</summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int ENFILE = 23;
    public const int EPIPE = 32;
    public const int ENOSYS = 38;
    public const int ENOPROTOOPT = 92;
    public const int EOPNOTSUPP = 95;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETUNREACH = 101;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ENOBUFS = 105;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EHOSTUNREACH = 113;
    public const int EALREADY = 114;
    public const int EINPROGRESS = 115;

    /// <summary>The errno of the last call made with <c>SetLastError = true</c> on this thread.</summary>
    public static int Last => Marshal.GetLastPInvokeError();

    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EINTR => "EINTR",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EINVAL => "EINVAL",
        EMFILE => "EMFILE",
        EPIPE => "EPIPE",
        ENOSYS => "ENOSYS",
        ENFILE => "ENFILE",
        ENOPROTOOPT => "ENOPROTOOPT",
        EOPNOTSUPP => "EOPNOTSUPP",
        EADDRINUSE => "EADDRINUSE",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        ENETUNREACH => "ENETUNREACH",
        ECONNABORTED => "ECONNABORTED",
        ECONNRESET => "ECONNRESET",
        ENOBUFS => "ENOBUFS",
        ENOTCONN => "ENOTCONN",
        ETIMEDOUT => "ETIMEDOUT",
        ECONNREFUSED => "ECONNREFUSED",
        EHOSTUNREACH => "EHOSTUNREACH",
        EALREADY => "EALREADY",
        EINPROGRESS => "EINPROGRESS",
        _ => $"errno {errno}",
    };

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>Throws for the last error of <paramref name="call"/>.</summary>
    public static NativeCallException Exception(string call, string? hint = null) => new(call, Last, hint);
}
