using System.CommandLine;
using System.Globalization;
using Fastsock.Perf.Report;

var input = new Option<string>("--input")
{
    Description = "Run directory written by perf/run (results.tsv, scenarios.tsv, meta.tsv)",
    HelpName = "DIR",
    Required = true,
};
var output = new Option<string?>("--output")
{
    Description = "Where REPORT.md and chart-*.png go (default: perf/results of the repository around the current directory)",
    HelpName = "DIR",
};
var spreadLimit = new Option<double>("--spread-limit")
{
    Description = "Spread (max − min) / median in percent above which a comparison is not called",
    HelpName = "PERCENT",
    DefaultValueFactory = _ => 10,
};
spreadLimit.Validators.Add(result =>
{
    double value = result.GetValueOrDefault<double>();
    if (!(value >= 0) || !double.IsFinite(value))
    {
        result.AddError($"--spread-limit {value.ToString(CultureInfo.InvariantCulture)}: must be a percentage ≥ 0, e.g. 10");
    }
});

var root = new RootCommand("Turns a perf/run run directory into REPORT.md and gnuplot bar charts (one per scenario's headline metric).")
{
    input, output, spreadLimit,
};
root.SetAction(parse => ReportTool.Run(parse.GetValue(input)!, parse.GetValue(output), parse.GetValue(spreadLimit), Console.Out, Console.Error));
return root.Parse(args).Invoke();
