using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Tests.Perf;

public sealed class RatioCalculatorTests
{
    private const double Limit = 10;

    private static Comparison Compare(string metric, double[] subject, double[] peer, double limit = Limit) =>
        RatioCalculator.Compare("hello", Summary.Of(subject), "nginx", Summary.Of(peer), MetricInfo.For(metric), limit);

    [Fact]
    public void Higher_requests_per_second_make_the_subject_better_with_ratio_above_one()
    {
        var c = Compare("rps", [130, 131, 132], [100, 101, 102]);
        Assert.Equal(Verdict.SubjectBetter, c.Verdict);
        Assert.Equal(131.0 / 101, c.Ratio!.Value, 9);
    }

    [Fact]
    public void Lower_cpu_per_request_makes_the_subject_better_with_ratio_below_one()
    {
        var c = Compare("cpu_us_per_req", [7.2, 7.25, 7.3], [13.1, 13.2, 13.4]);
        Assert.Equal(Verdict.SubjectBetter, c.Verdict);
        Assert.True(c.Ratio < 1);
        Assert.Equal(Better.Lower, c.Metric.Better);
    }

    [Fact]
    public void Higher_cpu_per_request_makes_the_peer_better()
    {
        var c = Compare("cpu_s_per_gb", [0.56, 0.57, 0.58], [0.29, 0.29, 0.30]);
        Assert.Equal(Verdict.PeerBetter, c.Verdict);
        Assert.True(c.Ratio > 1);
    }

    [Fact]
    public void Overlapping_ranges_are_not_called_but_keep_their_ratio()
    {
        var c = Compare("rps", [132500, 133000, 134000], [127000, 128000, 133500]);
        Assert.Equal(Verdict.NotCalled, c.Verdict);
        Assert.Equal("ranges overlap", c.Reason);
        Assert.Equal(133000.0 / 128000, c.Ratio!.Value, 9);
    }

    [Fact]
    public void A_spread_above_the_limit_on_either_side_is_not_called_even_with_ranges_apart()
    {
        var wideSubject = Compare("rps", [100, 115, 130], [50, 51, 52]);
        Assert.Equal(Verdict.NotCalled, wideSubject.Verdict);
        Assert.Contains("hello spread 26%", wideSubject.Reason, StringComparison.Ordinal);

        var widePeer = Compare("rps", [100, 101, 102], [40, 50, 60]);
        Assert.Equal(Verdict.NotCalled, widePeer.Verdict);
        Assert.Contains("nginx spread 40%", widePeer.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("overlap", widePeer.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_spread_limit_is_the_callers()
    {
        Assert.Equal(Verdict.SubjectBetter, Compare("rps", [100, 115, 130], [50, 51, 52], limit: 30).Verdict);
    }

    [Fact]
    public void Single_runs_within_two_percent_are_not_called_and_further_apart_are()
    {
        var close = Compare("syscalls_per_req", [2.058], [2.062]);
        Assert.Equal(Verdict.NotCalled, close.Verdict);
        Assert.Contains("one run", close.Reason, StringComparison.Ordinal);

        var apart = Compare("rss_kib_per_conn", [1.90], [0.51]);
        Assert.Equal(Verdict.PeerBetter, apart.Verdict);
    }

    [Fact]
    public void A_zero_peer_median_gives_no_ratio()
    {
        var c = Compare("errors", [0, 0, 0], [0, 0, 0]);
        Assert.Null(c.Ratio);
        Assert.Equal(Verdict.NotCalled, c.Verdict);
        Assert.Equal("equal in every run", c.Reason);
    }

    [Fact]
    public void Unknown_metrics_have_a_ratio_and_no_verdict()
    {
        var c = Compare("widgets", [10, 12], [20, 22]);
        Assert.Equal(Verdict.NoDirection, c.Verdict);
        Assert.Equal(11.0 / 21, c.Ratio!.Value, 9);
        Assert.Equal("widgets", c.Metric.Label);
    }
}
