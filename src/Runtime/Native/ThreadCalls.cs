using System.Runtime.InteropServices;

namespace Fastsock.Native;

internal static unsafe partial class ThreadCalls
{
    /// <summary>pid 0 means the calling thread.</summary>
    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    public static partial int SetAffinity(int pid, nint maskSize, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    public static partial int GetAffinity(int pid, nint maskSize, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getcpu", SetLastError = true)]
    public static partial int GetCurrentCpu();

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetThreadId();

    /// <summary>Mask words for 1024 CPUs, the size glibc's cpu_set_t uses.</summary>
    public const int MaskWords = 16;
}
