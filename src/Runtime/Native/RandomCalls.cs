using System.Runtime.InteropServices;

namespace Fastsock.Native;

/// <summary>
/// The kernel's random generator (getrandom(2)), for key material the runtime makes itself. RandomNumberGenerator would
/// do the same, but on Linux it goes through OpenSSL, whose first use loads and initialises libcrypto and libssl
/// (~5 MB resident) in every process, TLS or not.
/// </summary>
internal static unsafe partial class RandomCalls
{
    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    private static partial nint GetRandom(byte* buffer, nuint length, uint flags);

    /// <summary>Fills <paramref name="destination"/> from the kernel's CSPRNG (blocking only until it is first seeded, at boot).</summary>
    public static void Fill(Span<byte> destination)
    {
        fixed (byte* start = destination)
        {
            int filled = 0;
            while (filled < destination.Length)
            {
                nint got = GetRandom(start + filled, (nuint)(destination.Length - filled), 0);
                if (got < 0)
                {
                    if (Errno.Last == Errno.EINTR)
                    {
                        continue;
                    }

                    throw Errno.Exception($"getrandom({destination.Length - filled} B)");
                }

                filled += (int)got;
            }
        }
    }
}
