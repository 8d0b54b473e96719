using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Perf.Report.Markdown;

/// <summary>How a <see cref="Comparison"/> reads in the report.</summary>
internal static class ComparisonText
{
    /// <summary>One ratio line: "hello / kestrel = **1.78×** (higher is better): hello better".</summary>
    public static string Line(Comparison c)
    {
        string ratio = c.Ratio is null ? $"no ratio ({c.Peer}'s median is 0)" : Figures.Ratio(c.Ratio);
        string head = $"{c.Subject} / {c.Peer} = ";
        return c.Verdict switch
        {
            Verdict.SubjectBetter => $"{head}**{ratio}** ({c.Metric.BetterText}): {c.Subject} better",
            Verdict.PeerBetter => $"{head}**{ratio}** ({c.Metric.BetterText}): {c.Peer} better",
            Verdict.NotCalled => $"{head}{ratio} ({c.Metric.BetterText}): not called ({c.Reason})",
            _ => $"{head}{ratio} ({c.Metric.BetterText})",
        };
    }

    /// <summary>Short verdict for the summary table: "better than kestrel", "not called vs nginx (ranges overlap)".</summary>
    public static string VerdictText(Comparison c) => c.Verdict switch
    {
        Verdict.SubjectBetter => $"better than {c.Peer}",
        Verdict.PeerBetter => $"worse than {c.Peer}",
        Verdict.NotCalled => $"not called vs {c.Peer} ({c.Reason})",
        _ => $"vs {c.Peer}: no better direction",
    };

    public static string Ratio(Comparison c) =>
        c.Verdict is Verdict.SubjectBetter or Verdict.PeerBetter
            ? $"**{Figures.Ratio(c.Ratio)}** {c.Peer}"
            : $"{Figures.Ratio(c.Ratio)} {c.Peer}";
}
