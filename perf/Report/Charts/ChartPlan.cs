using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Perf.Report.Charts;

/// <summary>One chart of one scenario and metric; its PNG is named after both.</summary>
internal abstract record ChartSpec(string Scenario, string Metric)
{
    public string FileName => $"chart-{Safe(Scenario)}-{Safe(Metric)}.png";

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

/// <summary>A bar chart: one scenario (not a sweep), one metric, one bar per server.</summary>
internal sealed record BarChartSpec(ScenarioSummary Summary, string Metric) : ChartSpec(Summary.Scenario, Metric);

/// <summary>A line chart of a sweep: the metric's median (min–max whiskers) per server across the concurrency levels.</summary>
internal sealed record SweepChartSpec(SweepSummary Sweep, string Metric) : ChartSpec(Sweep.Scenario, Metric);

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
        ["tls-keepalive"] = ["rps"],
        ["tls-handshake-ecdsa"] = ["handshakes_per_s"],
        ["tls-handshake-rsa"] = ["handshakes_per_s"],
        ["tls-resumed"] = ["handshakes_per_s"],
    };

    private const string CpuPerRequest = "cpu_us_per_req";

    // The tls handshake scenarios' cost: one handshake per connection, so CPU per handshake, not per request.
    private const string CpuPerHandshake = "cpu_us_per_handshake";

    // Across a sweep the user part is charted: system time is mostly the kernel's TCP work, alike for every server.
    private const string UserCpuPerRequest = "cpu_user_us_per_req";

    public static string Headline(ScenarioSummary scenario) => Headline(scenario.Scenario, scenario.Metrics);

    public static string Headline(SweepSummary sweep) => Headline(sweep.Scenario, sweep.Metrics);

    /// <summary>
    /// A scenario that is not a sweep: the headline chart, plus CPU µs/request when the scenario has it and it is not
    /// the headline. A sweep's levels get no bar charts: their sweep has line charts (<see cref="For(SweepSummary)"/>).
    /// </summary>
    public static List<ChartSpec> For(ScenarioSummary scenario)
    {
        if (scenario.Clients is not null)
        {
            return [];
        }

        string headline = Headline(scenario);
        var charts = new List<ChartSpec> { new BarChartSpec(scenario, headline) };
        if (headline != CpuPerRequest && scenario.Metrics.Contains(CpuPerRequest))
        {
            charts.Add(new BarChartSpec(scenario, CpuPerRequest));
        }

        if (scenario.Metrics.Contains(CpuPerHandshake))
        {
            charts.Add(new BarChartSpec(scenario, CpuPerHandshake));
        }

        return charts;
    }

    /// <summary>A sweep: its headline across the levels, plus CPU user µs/request (else CPU µs/request) when present.</summary>
    public static List<ChartSpec> For(SweepSummary sweep)
    {
        string headline = Headline(sweep);
        var charts = new List<ChartSpec> { new SweepChartSpec(sweep, headline) };
        string? cpu = sweep.Metrics.Contains(UserCpuPerRequest) ? UserCpuPerRequest : sweep.Metrics.Contains(CpuPerRequest) ? CpuPerRequest : null;
        if (cpu is not null && cpu != headline)
        {
            charts.Add(new SweepChartSpec(sweep, cpu));
        }

        return charts;
    }

    private static string Headline(string scenario, IReadOnlyList<string> metrics)
    {
        if (Headlines.TryGetValue(scenario, out var preferred))
        {
            foreach (string metric in preferred)
            {
                if (metrics.Contains(metric))
                {
                    return metric;
                }
            }
        }

        return metrics[0];
    }
}
