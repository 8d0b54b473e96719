using System.Runtime.InteropServices;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary>
/// A process started with SIGHUP ignored (nohup, some supervisors and CI runners) inherits that, and .NET's
/// <see cref="PosixSignalRegistration"/> leaves an ignored signal ignored: <c>kill -HUP</c> would then do nothing at
/// all. The proxy asks for SIGHUP explicitly (it means "reload"), so it puts the default action back first.
/// </summary>
internal static partial class InheritedSignalIgnore
{
    private const int SIGHUP = 1;
    private static readonly nint SIG_DFL = 0;

    /// <summary>Restores SIGHUP's default action so that a handler registered next receives it.</summary>
    public static void ClearForSighup() => _ = Signal(SIGHUP, SIG_DFL);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);
}
