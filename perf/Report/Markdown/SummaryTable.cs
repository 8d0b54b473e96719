using System.Text;
using Fastsock.Perf.Report.Charts;
using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Perf.Report.Markdown;

/// <summary>The table at the top of the report: one line per scenario on its headline metric.</summary>
internal static class SummaryTable
{
    public static void AppendTo(StringBuilder text, IReadOnlyList<ScenarioSummary> scenarios, double spreadLimitPercent)
    {
        text.Append("## Summary\n\n");
        var table = new MarkdownTable("scenario", "metric", "subject", ">median", "peers (median)", "ratio subject/peer", "verdict");
        foreach (var scenario in scenarios)
        {
            string metric = ChartPlan.Headline(scenario);
            var info = MetricInfo.For(metric);
            var subject = scenario.Get(scenario.Subject, metric);
            var comparisons = RatioCalculator.CompareAll(scenario, metric, spreadLimitPercent);
            var peers = new List<string>();
            foreach (string peer in scenario.Peers)
            {
                if (scenario.Get(peer, metric) is { } s)
                {
                    peers.Add($"{peer} {Figures.Value(s.Median)}");
                }
            }

            table.Add(
                scenario.Title,
                $"{info.Label} ({info.BetterText})",
                scenario.Subject,
                subject is null ? "—" : Figures.Value(subject.Median),
                peers.Count == 0 ? "—" : string.Join("; ", peers),
                comparisons.Count == 0 ? "—" : string.Join("; ", comparisons.Select(ComparisonText.Ratio)),
                comparisons.Count == 0 ? "no peer" : string.Join("; ", comparisons.Select(ComparisonText.VerdictText)));
        }

        table.AppendTo(text);
    }
}
