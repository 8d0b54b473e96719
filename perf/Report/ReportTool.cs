using System.Globalization;
using Fastsock.Perf.Report.Charts;
using Fastsock.Perf.Report.Input;
using Fastsock.Perf.Report.Markdown;
using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Perf.Report;

/// <summary>Load the run directory, draw the charts, write REPORT.md. Exit 0, 1 when a chart failed, 2 on bad input.</summary>
internal static class ReportTool
{
    public const string ReportFile = "REPORT.md";
    private const string Name = "fastsock-perf-report";

    public static int Run(string inputDirectory, string? outputDirectory, double spreadLimitPercent, TextWriter stdout, TextWriter stderr)
    {
        RunData run;
        try
        {
            run = RunDirectory.Load(inputDirectory);
        }
        catch (InputFormatException ex)
        {
            stderr.WriteLine($"{Name}: {ex.Message}");
            return 2;
        }

        string? output = outputDirectory ?? DefaultOutput();
        if (output is null)
        {
            stderr.WriteLine($"{Name}: no --output given and no Fastsock.sln in {Directory.GetCurrentDirectory()} or above; pass --output DIR");
            return 2;
        }

        try
        {
            return Write(run, inputDirectory, output, spreadLimitPercent, stdout, stderr);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{Name}: writing to {output}: {ex.Message}");
            return 1;
        }
    }

    private static int Write(RunData run, string inputDirectory, string output, double spreadLimitPercent, TextWriter stdout, TextWriter stderr)
    {
        var scenarios = ScenarioSummary.FromMeasurements(run.Measurements);
        Directory.CreateDirectory(output);

        // The folder must match the report: charts of scenarios no longer in the run must not linger.
        foreach (string old in Directory.EnumerateFiles(output, "chart-*.png"))
        {
            File.Delete(old);
        }

        var sweeps = SweepSummary.From(scenarios);
        var specs = scenarios.SelectMany(ChartPlan.For).Concat(sweeps.SelectMany(ChartPlan.For)).ToList();
        var gnuplot = Gnuplot.Find();
        List<ChartResult> charts;
        string chartTool;
        if (gnuplot is null)
        {
            stderr.WriteLine(Gnuplot.MissingMessage);
            charts = specs.ConvertAll(s => new ChartResult(s, "gnuplot was not installed (apt-get install -y gnuplot-nox)"));
            chartTool = "no tool: gnuplot was not installed, so there are no charts";
        }
        else
        {
            charts = Draw(gnuplot, specs, spreadLimitPercent, output, stderr);
            chartTool = $"{gnuplot.Version} (pngcairo terminal)";
        }

        string command = string.Create(CultureInfo.InvariantCulture,
            $"dotnet run -c Release --project perf/Report -- --input {inputDirectory} --output {output} --spread-limit {spreadLimitPercent}");
        string report = MarkdownReport.Render(run, scenarios, sweeps, charts, new ReportContext(command, spreadLimitPercent, chartTool));
        string reportPath = Path.Combine(output, ReportFile);
        File.WriteAllText(reportPath, report);

        int drawn = charts.Count(c => c.Drawn);
        stdout.WriteLine($"wrote {reportPath} ({scenarios.Select(s => s.Scenario).Distinct().Count()} scenarios) and {drawn} of {charts.Count} charts");
        return drawn == charts.Count || gnuplot is null ? 0 : 1;
    }

    private static List<ChartResult> Draw(Gnuplot gnuplot, List<ChartSpec> specs, double spreadLimitPercent, string output, TextWriter stderr)
    {
        string work = Directory.CreateTempSubdirectory("fastsock-perf-report-").FullName;
        var results = new List<ChartResult>(specs.Count);
        foreach (var spec in specs)
        {
            string script = spec switch
            {
                BarChartSpec bar => GnuplotChart.Write(bar, spreadLimitPercent, output, work),
                SweepChartSpec line => GnuplotSweepChart.Write(line, spreadLimitPercent, output, work),
                _ => throw new ArgumentException($"no gnuplot writer for {spec.GetType().Name}", nameof(specs)),
            };
            string? problem = gnuplot.RunScript(script);
            if (problem is not null)
            {
                stderr.WriteLine($"{Name}: {problem}");
            }

            results.Add(new ChartResult(spec, problem));
        }

        // Keep the scripts only when something failed, to look at them.
        if (results.TrueForAll(r => r.Drawn))
        {
            Directory.Delete(work, recursive: true);
        }
        else
        {
            stderr.WriteLine($"{Name}: chart scripts and data kept in {work}");
        }

        return results;
    }

    /// <summary>perf/results of the repository: the nearest directory holding Fastsock.sln, upwards from here.</summary>
    private static string? DefaultOutput()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Fastsock.sln")))
            {
                return Path.Combine(dir.FullName, "perf", "results");
            }
        }

        return null;
    }
}
