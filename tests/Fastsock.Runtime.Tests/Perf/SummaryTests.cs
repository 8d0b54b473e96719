using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Tests.Perf;

public sealed class SummaryTests
{
    [Fact]
    public void Median_of_an_odd_count_is_the_middle_value_whatever_the_run_order()
    {
        var s = Summary.Of([7.3, 7.1, 9.0]);
        Assert.Equal(7.3, s.Median);
        Assert.Equal(7.1, s.Min);
        Assert.Equal(9.0, s.Max);
        Assert.Equal(3, s.Runs);
        Assert.Equal([7.3, 7.1, 9.0], s.Values);
    }

    [Fact]
    public void Median_of_an_even_count_is_the_mean_of_the_two_middle_values()
    {
        Assert.Equal(11.5, Summary.Of([20, 10, 13, 1]).Median);
        Assert.Equal(11, Summary.Of([12, 10]).Median);
    }

    [Fact]
    public void Spread_is_max_minus_min_over_the_median_in_percent()
    {
        Assert.Equal(20, Summary.Of([90, 100, 110]).SpreadPercent, 9);
        Assert.Equal(0, Summary.Of([5, 5, 5]).SpreadPercent);
    }

    [Fact]
    public void Spread_with_a_zero_median_is_zero_when_runs_agree_and_infinite_otherwise()
    {
        Assert.Equal(0, Summary.Of([0, 0, 0]).SpreadPercent);
        Assert.True(double.IsPositiveInfinity(Summary.Of([0, 0, 3]).SpreadPercent));
    }

    [Fact]
    public void Ranges_that_touch_overlap_and_ranges_apart_do_not()
    {
        Assert.True(Summary.Of([1, 2]).Overlaps(Summary.Of([2, 3])));
        Assert.True(Summary.Of([1, 5]).Overlaps(Summary.Of([2, 3])));
        Assert.False(Summary.Of([1, 2]).Overlaps(Summary.Of([2.01, 3])));
    }
}
