namespace Fastsock.Perf.Report.Statistics;

/// <summary>Outcome of comparing the subject with one peer on one metric.</summary>
internal enum Verdict
{
    SubjectBetter,
    PeerBetter,
    /// <summary>Spread above the limit on either side, or the min–max ranges overlap.</summary>
    NotCalled,
    /// <summary>The metric has no better direction; the ratio is information only.</summary>
    NoDirection,
}

/// <summary>Subject median / peer median, and whether the runs allow calling a winner.</summary>
internal sealed record Comparison(string Subject, string Peer, MetricInfo Metric, double? Ratio, Verdict Verdict, string? Reason);

/// <summary>
/// Compares the subject with a peer. A result is too wide to call when the spread of either side exceeds the
/// limit or their min–max ranges overlap; the ratio is still given.
/// </summary>
internal static class RatioCalculator
{
    /// <summary>Single-run figures (resource figures) closer than this are not called either way.</summary>
    public const double SingleRunMargin = 0.02;

    public static Comparison Compare(string subject, Summary subjectRuns, string peer, Summary peerRuns, MetricInfo metric, double spreadLimitPercent)
    {
        double? ratio = peerRuns.Median == 0 ? null : subjectRuns.Median / peerRuns.Median;

        var reasons = new List<string>(3);
        if (subjectRuns.SpreadPercent > spreadLimitPercent)
        {
            reasons.Add($"{subject} spread {Figures.Percent(subjectRuns.SpreadPercent)} > {Figures.Percent(spreadLimitPercent)}");
        }

        if (peerRuns.SpreadPercent > spreadLimitPercent)
        {
            reasons.Add($"{peer} spread {Figures.Percent(peerRuns.SpreadPercent)} > {Figures.Percent(spreadLimitPercent)}");
        }

        if (subjectRuns.Min == subjectRuns.Max && peerRuns.Min == peerRuns.Max && subjectRuns.Min == peerRuns.Min)
        {
            reasons.Add("equal in every run");
        }
        else if (subjectRuns.Overlaps(peerRuns))
        {
            reasons.Add("ranges overlap");
        }
        else if ((subjectRuns.Runs < 2 || peerRuns.Runs < 2) && ratio is { } single && Math.Abs(single - 1) < SingleRunMargin)
        {
            // A single run shows no spread, so a difference this small could be noise nobody measured.
            reasons.Add($"one run, medians within {Figures.Percent(SingleRunMargin * 100)}");
        }

        if (metric.Better == Better.Neither)
        {
            return new Comparison(subject, peer, metric, ratio, Verdict.NoDirection, null);
        }

        if (reasons.Count > 0)
        {
            return new Comparison(subject, peer, metric, ratio, Verdict.NotCalled, string.Join("; ", reasons));
        }

        // Ranges apart, so the medians differ.
        bool subjectHigher = subjectRuns.Median > peerRuns.Median;
        bool subjectBetter = subjectHigher == (metric.Better == Better.Higher);
        return new Comparison(subject, peer, metric, ratio, subjectBetter ? Verdict.SubjectBetter : Verdict.PeerBetter, null);
    }

    /// <summary>The subject against every peer that has this metric, in file order.</summary>
    public static List<Comparison> CompareAll(ScenarioSummary scenario, string metric, double spreadLimitPercent)
    {
        var result = new List<Comparison>();
        var subjectRuns = scenario.Get(scenario.Subject, metric);
        if (subjectRuns is null)
        {
            return result;
        }

        var info = MetricInfo.For(metric);
        foreach (string peer in scenario.Peers)
        {
            if (scenario.Get(peer, metric) is { } peerRuns)
            {
                result.Add(Compare(scenario.Subject, subjectRuns, peer, peerRuns, info, spreadLimitPercent));
            }
        }

        return result;
    }
}
