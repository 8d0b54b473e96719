using System.Globalization;

namespace Fastsock.Samples.Proxy.Config;

/// <summary>HAProxy-style durations: <c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, or a bare number of milliseconds.</summary>
internal static class Duration
{
    /// <summary>The largest duration a config may give, in whole hours: what a TimeSpan holds (about 29,000 years).</summary>
    public static readonly long LargestHours = (long)TimeSpan.MaxValue.TotalHours;

    public static bool TryParse(string text, out TimeSpan value) => Parse(text, out value) == DurationText.Valid;

    /// <summary>
    /// A positive duration for the config key being read, or the one-line reason it is not one (a config error says it
    /// after the key): not a duration, zero, or longer than a TimeSpan holds.
    /// </summary>
    public static string? PositiveOrReason(string text, out TimeSpan value) => Parse(text, out value) switch
    {
        DurationText.Valid when value > TimeSpan.Zero => null,
        DurationText.TooLarge => $"'{text}' is too large; the largest duration is {LargestHours.ToString(CultureInfo.InvariantCulture)}h (about 29,000 years)",
        _ => $"'{text}' is not a positive duration; write it like 500ms, 5s or 2m",
    };

    private static DurationText Parse(string text, out TimeSpan value)
    {
        value = default;
        var trimmed = text.Trim();
        int unitStart = 0;
        while (unitStart < trimmed.Length && (char.IsAsciiDigit(trimmed[unitStart]) || trimmed[unitStart] == '.'))
        {
            unitStart++;
        }

        if (unitStart == 0 || !double.TryParse(trimmed[..unitStart], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
        {
            return DurationText.NotADuration;
        }

        double? milliseconds = trimmed[unitStart..] switch
        {
            "" or "ms" => number,
            "s" => number * 1000,
            "m" => number * 60_000,
            "h" => number * 3_600_000,
            _ => null,
        };

        if (milliseconds is not { } ms)
        {
            return DurationText.NotADuration;
        }

        // Longer than a TimeSpan holds is a config error that says so, not an OverflowException.
        if (!(ms * TimeSpan.TicksPerMillisecond < long.MaxValue))
        {
            return DurationText.TooLarge;
        }

        value = TimeSpan.FromMilliseconds(ms);
        return DurationText.Valid;
    }

    /// <summary>
    /// <paramref name="duration"/> in whole milliseconds, rounded up as the runtime rounds every deadline: a timer or an
    /// expiry compared in milliseconds never ends a fraction of a millisecond early.
    /// </summary>
    public static long CeilingMilliseconds(TimeSpan duration) => (long)Math.Ceiling(duration.TotalMilliseconds);

    /// <summary>The longest delay a BCL timer takes (<c>uint.MaxValue - 1</c> ms, about 49.7 days); longer ones throw.</summary>
    public const long LongestTimerMilliseconds = uint.MaxValue - 1L;

    /// <summary>
    /// <paramref name="timeout"/> for a BCL timer (<see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/>,
    /// <see cref="PeriodicTimer"/>), rounded up with <see cref="CeilingMilliseconds"/>: those timers truncate, so 0.5 ms
    /// fired at once (CancelAfter) or was refused with an exception (PeriodicTimer). Past
    /// <see cref="LongestTimerMilliseconds"/>, which they refuse too, it is <see cref="Timeout.InfiniteTimeSpan"/>:
    /// late, never early.
    /// </summary>
    public static TimeSpan ForTimer(TimeSpan timeout)
    {
        long milliseconds = CeilingMilliseconds(timeout);
        return milliseconds > LongestTimerMilliseconds ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(milliseconds);
    }

    private enum DurationText
    {
        Valid,
        NotADuration,
        TooLarge,
    }
}
