using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Perf.Report.Charts;

/// <summary>One bar chart: one scenario, one metric, one bar per server.</summary>
internal sealed record ChartSpec(ScenarioSummary Scenario, string Metric)
{
    public string FileName => $"chart-{Safe(Scenario.Scenario)}-{Safe(Metric)}.png";

    private static string Safe(string id)
    {
        var chars = id.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(chars[i]) && chars[i] is not ('-' or '_' or '.'))
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }
}

/// <summary>Which metric headlines each scenario, and which charts a scenario gets.</summary>
internal static class ChartPlan
{
    // The metric a scenario is about; the first one present in the data wins. Unknown scenarios use their first metric.
    private static readonly Dictionary<string, string[]> Headlines = new(StringComparer.Ordinal)
    {
        ["keepalive"] = ["rps"],
        ["close"] = ["rps"],
        ["proxy-http"] = ["rps"],
        ["fastpath"] = ["rps", "cpu_us_per_req"],
        ["scaling"] = ["rps"],
        ["proxy-tcp"] = ["cpu_s_per_gb", "gbps"],
        ["idle-memory"] = ["rss_kib_per_conn"],
        ["syscalls-keepalive"] = ["syscalls_per_req"],
        ["syscalls-close"] = ["syscalls_per_req"],
        ["contention"] = ["lock_contentions"],
    };

    private const string CpuPerRequest = "cpu_us_per_req";

    public static string Headline(ScenarioSummary scenario)
    {
        if (Headlines.TryGetValue(scenario.Scenario, out var preferred))
        {
            foreach (string metric in preferred)
            {
                if (scenario.Metrics.Contains(metric))
                {
                    return metric;
                }
            }
        }

        return scenario.Metrics[0];
    }

    /// <summary>The headline chart, plus CPU µs/request when the scenario has it and it is not the headline.</summary>
    public static List<ChartSpec> For(ScenarioSummary scenario)
    {
        string headline = Headline(scenario);
        var charts = new List<ChartSpec> { new(scenario, headline) };
        if (headline != CpuPerRequest && scenario.Metrics.Contains(CpuPerRequest))
        {
            charts.Add(new ChartSpec(scenario, CpuPerRequest));
        }

        return charts;
    }
}
