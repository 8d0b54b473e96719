namespace Fastsock.Perf.Report.Statistics;

/// <summary>The runs of one server for one metric in one scenario: median, range and spread.</summary>
internal sealed record Summary(IReadOnlyList<double> Values, double Median, double Min, double Max)
{
    public int Runs => Values.Count;

    /// <summary>(max − min) / median in percent; 0 when every run gave the same value, infinite when the median is 0 and runs differ.</summary>
    public double SpreadPercent => Max == Min ? 0 : Median == 0 ? double.PositiveInfinity : (Max - Min) / Math.Abs(Median) * 100;

    /// <summary>Values in run order; the median of an even count is the mean of the two middle values.</summary>
    public static Summary Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("a summary needs at least one value", nameof(values));
        }

        var sorted = new double[values.Count];
        for (int i = 0; i < sorted.Length; i++)
        {
            sorted[i] = values[i];
        }

        Array.Sort(sorted);
        int mid = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new Summary(values, median, sorted[0], sorted[^1]);
    }

    public bool Overlaps(Summary other) => Min <= other.Max && other.Min <= Max;
}
