using System.Globalization;
using System.Text;
using Fastsock.Perf.Report.Charts;
using Fastsock.Perf.Report.Input;
using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Perf.Report.Markdown;

/// <summary>What the report says about how it was made.</summary>
internal sealed record ReportContext(string ReportCommand, double SpreadLimitPercent, string ChartTool);

/// <summary>REPORT.md: reproduction, machine, summary, then one section per scenario with its tables, ratios, charts and commands.</summary>
internal static class MarkdownReport
{
    public static string Render(
        RunData run, IReadOnlyList<ScenarioSummary> scenarios, IReadOnlyList<SweepSummary> sweeps, IReadOnlyList<ChartResult> charts, ReportContext context)
    {
        var text = new StringBuilder();
        text.Append("# Fastsock benchmark report\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Run of {run.MetaValue("date") ?? "an unrecorded date (meta.tsv has no `date`)"}");
        if ((run.MetaValue("git commit") ?? run.MetaValue("git_commit") ?? run.MetaValue("commit")) is { } commit)
        {
            text.Append(CultureInfo.InvariantCulture, $", commit `{commit}`");
        }

        text.Append(".\n\n");
        text.Append("Written by `fastsock-perf-report` (perf/Report) from the run directory's results.tsv, scenarios.tsv and meta.tsv; ");
        text.Append(CultureInfo.InvariantCulture, $"charts drawn by {context.ChartTool}. Do not edit by hand: rerun the benchmark.\n\n");

        AppendReproduce(text, run, context);
        AppendReading(text, context);
        AppendMachine(text, run);
        SummaryTable.AppendTo(text, scenarios, context.SpreadLimitPercent);
        foreach (var scenario in scenarios)
        {
            // A sweep's overview comes before its first level's details.
            if (sweeps.FirstOrDefault(s => s.Levels[0] == scenario) is { } sweep)
            {
                SweepSection.AppendTo(text, sweep, charts, context.SpreadLimitPercent);
            }

            AppendScenario(text, scenario, run, charts, context);
        }

        AppendCommandsWithoutResults(text, run, scenarios);
        return text.ToString();
    }

    private static void AppendReproduce(StringBuilder text, RunData run, ReportContext context)
    {
        text.Append("## How to reproduce\n\n");
        if (run.MetaValue("command") is { } command)
        {
            text.Append("The benchmark (writes a run directory):\n\n```\n").Append(command).Append("\n```\n\n");
        }
        else
        {
            text.Append("meta.tsv has no `command` key, so the benchmark's command line is not known; the per-scenario commands are below.\n\n");
        }

        text.Append("This report from that run directory:\n\n```\n").Append(context.ReportCommand).Append("\n```\n\n");
    }

    private static void AppendReading(StringBuilder text, ReportContext context)
    {
        string limit = Figures.Percent(context.SpreadLimitPercent);
        text.Append("## How to read it\n\n");
        text.Append("- Each figure is the **median** of the runs (n, marked when below 3); servers were alternated A B C A B C … within a scenario. ");
        text.Append("min–max is the range over the runs, **spread** = (max − min) / median.\n");
        text.Append("- The **subject** is the first server of a scenario (Fastsock); the others are its peers. ");
        text.Append("A ratio is subject median / peer median. Requests/s and GB/s: higher is better, so > 1× favours the subject; ");
        text.Append("CPU, latency, memory, syscalls, lock contentions and errors: lower is better, so < 1× favours the subject. ");
        text.Append("Every table and ratio line says which way is better.\n");
        text.Append(CultureInfo.InvariantCulture, $"- A comparison is **not called** (too wide to call) when either side's spread is above {limit} ");
        text.Append("or the two min–max ranges overlap; its ratio is still shown, not in bold.\n\n");
    }

    private static void AppendMachine(StringBuilder text, RunData run)
    {
        text.Append("## Machine\n\n");
        if (run.Meta.Count == 0)
        {
            text.Append("meta.tsv lists nothing about the machine.\n\n");
            return;
        }

        var table = new MarkdownTable("key", "value");
        foreach (var (key, value) in run.Meta)
        {
            table.Add(key, value);
        }

        table.AppendTo(text);
    }

    private static void AppendScenario(StringBuilder text, ScenarioSummary scenario, RunData run, IReadOnlyList<ChartResult> charts, ReportContext context)
    {
        text.Append(CultureInfo.InvariantCulture, $"## {scenario.Title}\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Subject: **{scenario.Subject}**");
        text.Append(scenario.Servers.Count > 1 ? $"; peers: {string.Join(", ", scenario.Peers)}.\n\n" : "; no peer in this scenario.\n\n");

        foreach (string metric in scenario.Metrics)
        {
            var info = MetricInfo.For(metric);
            text.Append(CultureInfo.InvariantCulture, $"### {info.Label} ({info.BetterText})\n\n");
            var table = new MarkdownTable("server", ">n", ">median", ">min–max", ">spread", ">runs");
            foreach (string server in scenario.Servers)
            {
                if (scenario.Get(server, metric) is not { } s)
                {
                    continue;
                }

                string spread = Figures.Percent(s.SpreadPercent) + (s.SpreadPercent > context.SpreadLimitPercent ? " (too wide)" : string.Empty);
                // The benchmark's contract is at least 3 runs; fewer is shown, not hidden.
                string runs = s.Runs.ToString(CultureInfo.InvariantCulture) + (s.Runs < 3 ? " (< 3)" : string.Empty);
                table.Add(server, runs, Figures.Value(s.Median),
                    $"{Figures.Value(s.Min)} – {Figures.Value(s.Max)}", spread, string.Join(", ", s.Values.Select(Figures.Value)));
            }

            table.AppendTo(text);
            var comparisons = RatioCalculator.CompareAll(scenario, metric, context.SpreadLimitPercent);
            foreach (var comparison in comparisons)
            {
                text.Append("- ").Append(ComparisonText.Line(comparison)).Append('\n');
            }

            if (comparisons.Count > 0)
            {
                text.Append('\n');
            }

            foreach (var chart in charts)
            {
                if (chart.Spec is BarChartSpec bar && bar.Summary == scenario && bar.Metric == metric)
                {
                    text.Append(chart.Drawn
                        ? $"![{scenario.Scenario}: {info.Label}, median and min–max per server]({chart.Spec.FileName})\n\n"
                        : $"_Chart {chart.Spec.FileName} not drawn: {chart.Problem}._\n\n");
                }
            }
        }

        // A sweep's commands are the same at every level: shown once, after its last level.
        if (scenario.Clients is null || IsLastLevel(scenario, run))
        {
            AppendCommands(text, scenario.Scenario, run);
        }
    }

    private static bool IsLastLevel(ScenarioSummary scenario, RunData run)
    {
        foreach (var m in run.Measurements)
        {
            if (m.Scenario == scenario.Scenario && m.Clients > scenario.Clients)
            {
                return false;
            }
        }

        return true;
    }

    private static void AppendCommands(StringBuilder text, string scenario, RunData run)
    {
        var commands = run.Commands.Where(c => c.Scenario == scenario).ToList();
        if (commands.Count == 0)
        {
            text.Append("Commands: scenarios.tsv lists none for this scenario.\n\n");
            return;
        }

        text.Append("Commands (from scenarios.tsv):\n\n```\n");
        string? server = null;
        foreach (var command in commands)
        {
            if (command.Server != server)
            {
                server = command.Server;
                text.Append("# ").Append(server).Append('\n');
            }

            text.Append(command.Command).Append('\n');
        }

        text.Append("```\n\n");
    }

    private static void AppendCommandsWithoutResults(StringBuilder text, RunData run, IReadOnlyList<ScenarioSummary> scenarios)
    {
        var orphans = run.Commands.Select(c => c.Scenario).Distinct().Where(s => !scenarios.Any(x => x.Scenario == s)).ToList();
        if (orphans.Count == 0)
        {
            return;
        }

        text.Append("## Scenarios with commands but no results\n\n");
        foreach (string scenario in orphans)
        {
            text.Append(CultureInfo.InvariantCulture, $"### {scenario}\n\n");
            AppendCommands(text, scenario, run);
        }
    }
}
