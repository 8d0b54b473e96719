namespace Fastsock.Native;

/// <summary>
/// A failed Linux call, named with its argument: <c>bind(127.0.0.1:8080): EADDRINUSE (Address already in use)</c>.
/// </summary>
public sealed class NativeCallException : IOException
{
    /// <summary>A failure of <paramref name="call"/> with <paramref name="errno"/>; <paramref name="hint"/> says what to do, when there is something.</summary>
    public NativeCallException(string call, int errno, string? hint = null)
        : base(Format(call, errno, hint))
    {
        Call = call;
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The call that failed, with the value it was given, e.g. <c>bind(127.0.0.1:8080)</c>.</summary>
    public string Call { get; }

    /// <summary>The raw errno value.</summary>
    public int Errno { get; }

    private static string Format(string call, int errno, string? hint)
    {
        var text = $"{call}: {Native.Errno.Name(errno)} ({Native.Errno.Describe(errno)})";
        return hint is null ? text : $"{text}. {hint}";
    }
}
