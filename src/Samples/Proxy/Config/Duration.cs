using System.Globalization;

namespace Fastsock.Samples.Proxy.Config;

/// <summary>HAProxy-style durations: <c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, or a bare number of milliseconds.</summary>
internal static class Duration
{
    public static bool TryParse(string text, out TimeSpan value)
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
            return false;
        }

        double? milliseconds = trimmed[unitStart..] switch
        {
            "" or "ms" => number,
            "s" => number * 1000,
            "m" => number * 60_000,
            "h" => number * 3_600_000,
            _ => null,
        };

        // Longer than a TimeSpan holds (about 29,000 years) is no duration: a config error, not an OverflowException.
        if (milliseconds is not { } ms || !(ms * TimeSpan.TicksPerMillisecond < long.MaxValue))
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }

    /// <summary>
    /// <paramref name="duration"/> in whole milliseconds, rounded up as the runtime rounds every deadline: a timer or an
    /// expiry compared in milliseconds never ends a fraction of a millisecond early.
    /// </summary>
    public static long CeilingMilliseconds(TimeSpan duration) => (long)Math.Ceiling(duration.TotalMilliseconds);
}
