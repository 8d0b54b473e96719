using System.Globalization;
using System.Text;
using Fastsock.Perf.Report.Charts;
using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Perf.Report.Markdown;

/// <summary>
/// A sweep's overview: per metric, one table with a column per concurrency level (the servers' medians, then the
/// subject/peer ratios under the same noise rule), and the sweep's charts. The per-level sections follow it.
/// </summary>
internal static class SweepSection
{
    // The figures a sweep is read for, in this order; the others stay in the per-level sections.
    private static readonly string[] Overview =
        ["rps", "p99_us", "cpu_user_us_per_req", "cpu_sys_us_per_req", "rss_mib", "backend_conns_per_1k", "first_2s_rps", "errors"];

    public static void AppendTo(StringBuilder text, SweepSummary sweep, IReadOnlyList<ChartResult> charts, double spreadLimitPercent)
    {
        var levels = sweep.Levels;
        text.Append(CultureInfo.InvariantCulture, $"## {sweep.Scenario}: by concurrency ({string.Join(", ", levels.Select(l => Figures.Value(l.Clients!.Value)))} clients)\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Subject: **{sweep.Subject}**; peers: {string.Join(", ", sweep.Servers.Where(s => s != sweep.Subject))}. ");
        text.Append("Each cell is the median over the runs at that many concurrent connections; `(wide)` marks a spread above the limit. ");
        text.Append("Ratio rows: subject / peer, **bold** when the noise rule lets it be called. ");
        text.Append("Every level's n, min–max, spread and runs are in its own section below.\n\n");

        foreach (string metric in Overview)
        {
            if (!sweep.Metrics.Contains(metric))
            {
                continue;
            }

            var info = MetricInfo.For(metric);
            text.Append(CultureInfo.InvariantCulture, $"### {info.Label} by concurrency ({info.BetterText})\n\n");
            var headers = new List<string> { "server" };
            headers.AddRange(levels.Select(l => ">" + Figures.Value(l.Clients!.Value)));
            var table = new MarkdownTable([.. headers]);
            foreach (string server in sweep.Servers)
            {
                if (!levels.Any(l => l.Get(server, metric) is not null))
                {
                    continue;
                }

                var row = new List<string> { server };
                row.AddRange(levels.Select(l => l.Get(server, metric) is { } s
                    ? Figures.Value(s.Median) + (s.SpreadPercent > spreadLimitPercent ? " (wide)" : string.Empty)
                    : "—"));
                table.Add([.. row]);
            }

            foreach (string peer in sweep.Servers)
            {
                if (peer == sweep.Subject)
                {
                    continue;
                }

                var row = new List<string> { $"{sweep.Subject} / {peer}" };
                bool any = false;
                foreach (var level in levels)
                {
                    var comparison = RatioCalculator.CompareAll(level, metric, spreadLimitPercent).FirstOrDefault(c => c.Peer == peer);
                    any |= comparison is not null;
                    row.Add(comparison is null ? "—" : Cell(comparison));
                }

                if (any)
                {
                    table.Add([.. row]);
                }
            }

            table.AppendTo(text);
            foreach (var chart in charts)
            {
                if (chart.Spec is SweepChartSpec line && line.Sweep == sweep && line.Metric == metric)
                {
                    text.Append(chart.Drawn
                        ? $"![{sweep.Scenario}: {info.Label} by concurrency, median and min–max per server]({chart.Spec.FileName})\n\n"
                        : $"_Chart {chart.Spec.FileName} not drawn: {chart.Problem}._\n\n");
                }
            }
        }
    }

    private static string Cell(Comparison c) => c.Ratio is null ? "n/a (peer median 0)" : c.Verdict switch
    {
        Verdict.SubjectBetter or Verdict.PeerBetter => $"**{Figures.Ratio(c.Ratio)}**",
        Verdict.NotCalled => $"{Figures.Ratio(c.Ratio)} not called",
        _ => Figures.Ratio(c.Ratio),
    };
}
