using System.Buffers.Text;

namespace Fastsock.Http;

/// <summary>The "Date: ... GMT\r\n" header line (RFC 9110 §6.6.1), formatted at most once per second per thread.</summary>
/// <remarks>
/// Each worker thread keeps its own buffer, allocated once and reformatted in place when the second changes:
/// no sharing, no locks, no per-request or even per-second allocation, and no timer to start or stop.
/// The clock is checked with <see cref="Environment.TickCount64"/>, which is far cheaper than reading the time.
/// </remarks>
internal static class HttpDateCache
{
    /// <summary>"Date: " + 29 bytes of IMF-fixdate + CRLF.</summary>
    public const int LineLength = 37;

    [ThreadStatic]
    private static byte[]? t_line;

    [ThreadStatic]
    private static long t_refreshAt;

    public static ReadOnlySpan<byte> Line
    {
        get
        {
            byte[]? line = t_line;
            long now = Environment.TickCount64;
            if (line is null || now >= t_refreshAt)
            {
                line = Refresh(now);
            }

            return line;
        }
    }

    private static byte[] Refresh(long now)
    {
        byte[] line = t_line ??= new byte[LineLength];
        DateTime utc = DateTime.UtcNow;
        "Date: "u8.CopyTo(line);
        Utf8Formatter.TryFormat(utc, line.AsSpan(6), out _, new System.Buffers.StandardFormat('R'));
        line[^2] = HttpSyntax.Cr;
        line[^1] = HttpSyntax.Lf;

        // Refresh when the wall clock reaches the next second, not one second from now, so the value is never stale.
        t_refreshAt = now + 1000 - (utc.Ticks % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMillisecond);
        return line;
    }
}
