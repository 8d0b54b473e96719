using System.Globalization;

namespace Fastsock.Perf.Report;

/// <summary>How numbers are written in the report and on the charts (invariant culture, a few significant digits).</summary>
internal static class Figures
{
    public static string Value(double value)
    {
        double abs = Math.Abs(value);
        if (abs < 1000 && value == Math.Floor(value))
        {
            return value.ToString("0", CultureInfo.InvariantCulture); // counts: 14, not 14.00
        }

        string format = abs >= 1000 ? "N0" : abs >= 100 ? "0.0" : abs >= 1 ? "0.00" : abs == 0 ? "0" : abs >= 0.01 ? "0.000" : "0.####";
        return value.ToString(format, CultureInfo.InvariantCulture);
    }

    public static string Percent(double percent) =>
        double.IsPositiveInfinity(percent) ? "∞%" : percent.ToString(percent >= 10 ? "0" : "0.0", CultureInfo.InvariantCulture) + "%";

    public static string Ratio(double? ratio) =>
        ratio is { } r ? r.ToString(r >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture) + "×" : "n/a (peer median 0)";
}
