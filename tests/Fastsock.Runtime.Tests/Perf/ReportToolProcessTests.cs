using Fastsock.Perf.Report.Charts;

namespace Fastsock.Tests.Perf;

/// <summary>fastsock-perf-report as a real process on the small fixture run directory.</summary>
public sealed class ReportToolProcessTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly string _output = Directory.CreateTempSubdirectory("fastsock-report-out-").FullName;
    private readonly string _input = Directory.CreateTempSubdirectory("fastsock-report-in-").FullName;

    public ReportToolProcessTests()
    {
        foreach (string file in Directory.GetFiles(ReportProcess.Fixture("small-run")))
        {
            File.Copy(file, Path.Combine(_input, Path.GetFileName(file)));
        }
    }

    public void Dispose()
    {
        Directory.Delete(_output, recursive: true);
        Directory.Delete(_input, recursive: true);
    }

    private string Report => File.ReadAllText(Path.Combine(_output, "REPORT.md"));

    [Fact]
    public async Task Report_has_machine_summary_ratios_verdicts_and_commands_of_the_run()
    {
        var (exit, stdout, stderr) = await ReportProcess.RunAsync(null, "--input", _input, "--output", _output);

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        Assert.Contains("REPORT.md (4 scenarios)", stdout, StringComparison.Ordinal);
        string report = Report;
        Assert.Contains("perf/run --runs 3 --duration 10", report, StringComparison.Ordinal);
        Assert.Contains("| kernel | 6.1.0-test |", report, StringComparison.Ordinal);
        Assert.Contains("| cpu model | Test CPU @ 2.0GHz |", report, StringComparison.Ordinal);

        // Summary: one line per scenario on its headline metric, in file order.
        Assert.Contains("| keepalive | requests/s (higher is better) | hello | 133,000 | kestrel 75,000; nginx 128,000 | **1.77×** kestrel; 1.04× nginx | better than kestrel; not called vs nginx (ranges overlap) |", report, StringComparison.Ordinal);
        Assert.Contains("| proxy-tcp | CPU s/GB (lower is better) | fastsock-splice | 0.290 |", report, StringComparison.Ordinal);
        Assert.True(report.IndexOf("## keepalive", StringComparison.Ordinal) < report.IndexOf("## proxy-tcp", StringComparison.Ordinal));
        Assert.True(report.IndexOf("## proxy-tcp", StringComparison.Ordinal) < report.IndexOf("## warmup-check", StringComparison.Ordinal));

        // Per-metric tables with every run, and ratio lines saying which way is better.
        Assert.Contains("| hello | 3 | 133,000 | 132,500 – 134,000 | 1.1% | 133,000, 134,000, 132,500 |", report, StringComparison.Ordinal);
        Assert.Contains("- hello / kestrel = **0.55×** (lower is better): hello better", report, StringComparison.Ordinal);
        Assert.Contains("- hello / nginx = **0.98×** (lower is better): hello better", report, StringComparison.Ordinal);
        Assert.Contains("- fastsock-splice / haproxy = 0.62× (lower is better): not called (haproxy spread 32% > 10%)", report, StringComparison.Ordinal);
        Assert.Contains("| haproxy | 3 | 0.470 | 0.400 – 0.550 | 32% (too wide) |", report, StringComparison.Ordinal);

        // Unknown scenario and metric: reported generically, even count median.
        Assert.Contains("### widgets (no better direction)", report, StringComparison.Ordinal);
        Assert.Contains("| a | 2 (< 3) | 11 |", report, StringComparison.Ordinal);
        Assert.Contains("- a / b = 0.52× (no better direction)", report, StringComparison.Ordinal);

        Assert.Contains("```\n# hello\ntaskset -c 1 wrk -t1 -c64 -d10s http://127.0.0.1:18081/plaintext\n# kestrel\n", report, StringComparison.Ordinal);
        Assert.Contains("--spread-limit 10", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sweep_has_one_table_per_metric_with_a_column_per_concurrency_and_ratios_under_the_noise_rule()
    {
        var (exit, _, stderr) = await ReportProcess.RunAsync(null, "--input", _input, "--output", _output);

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        string report = Report;
        Assert.Contains("## proxy-http: by concurrency (64, 256 clients)", report, StringComparison.Ordinal);
        Assert.Contains("### requests/s by concurrency (higher is better)\n\n| server | 64 | 256 |\n|---|---:|---:|\n", report, StringComparison.Ordinal);
        Assert.Contains("| fastsock-proxy | 50,000 | 48,000 (wide) |", report, StringComparison.Ordinal);
        Assert.Contains("| fastsock-proxy / haproxy | **1.10×** | 1.08× not called |", report, StringComparison.Ordinal);
        Assert.Contains("| fastsock-proxy / proxy-floor | **0.55×** | 0.54× not called |", report, StringComparison.Ordinal);
        Assert.Contains("### server CPU user µs/request by concurrency (lower is better)", report, StringComparison.Ordinal);

        // The first seconds are measured once per start, at the lowest level only.
        Assert.Contains("| fastsock-proxy | 20,000 | — |", report, StringComparison.Ordinal);
        Assert.Contains("| fastsock-proxy / haproxy | **0.44×** | — |", report, StringComparison.Ordinal);

        // Every level keeps its own detailed section and summary line; the overview comes first.
        int overview = report.IndexOf("## proxy-http: by concurrency", StringComparison.Ordinal);
        int level64 = report.IndexOf("## proxy-http, 64 clients", StringComparison.Ordinal);
        int level256 = report.IndexOf("## proxy-http, 256 clients", StringComparison.Ordinal);
        Assert.True(overview >= 0 && overview < level64 && level64 < level256, $"order: overview {overview}, 64 at {level64}, 256 at {level256}");
        Assert.Contains("| proxy-http, 256 clients | requests/s (higher is better) | fastsock-proxy | 48,000 |", report, StringComparison.Ordinal);
        Assert.Contains("- fastsock-proxy / haproxy = 1.08× (higher is better): not called (fastsock-proxy spread 27% > 10%)", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_gnuplot_every_linked_chart_is_a_png_and_without_it_one_line_says_how_to_install_it()
    {
        var (exit, _, stderr) = await ReportProcess.RunAsync(null, "--input", _input, "--output", _output);
        Assert.True(exit == 0, $"exit {exit}: {stderr}");

        string[] expected =
        [
            "chart-keepalive-rps.png", "chart-keepalive-cpu_us_per_req.png", "chart-proxy-tcp-cpu_s_per_gb.png", "chart-warmup-check-widgets.png",
            "chart-proxy-http-rps.png", "chart-proxy-http-cpu_user_us_per_req.png",
        ];
        if (ReportProcess.GnuplotInstalled())
        {
            Assert.Contains("charts drawn by gnuplot", Report, StringComparison.Ordinal);
            foreach (string chart in expected)
            {
                Assert.Contains($"]({chart})", Report, StringComparison.Ordinal);
                byte[] bytes = File.ReadAllBytes(Path.Combine(_output, chart));
                Assert.Equal(PngSignature, bytes[..8]);
            }

            Assert.Equal(expected.Order(), Directory.GetFiles(_output, "chart-*.png").Select(Path.GetFileName).Order());
        }
        else
        {
            Assert.Equal(Gnuplot.MissingMessage, stderr.Trim());
            Assert.Empty(Directory.GetFiles(_output, "chart-*.png"));
        }
    }

    [Fact]
    public async Task Without_gnuplot_on_path_report_is_still_written_and_old_charts_are_removed()
    {
        File.WriteAllBytes(Path.Combine(_output, "chart-gone-rps.png"), PngSignature);
        string emptyPath = Directory.CreateDirectory(Path.Combine(_output, "empty-path")).FullName;

        var (exit, _, stderr) = await ReportProcess.RunAsync(emptyPath, "--input", _input, "--output", _output);

        Assert.Equal(0, exit);
        Assert.Equal("gnuplot not found: install it with apt-get install -y gnuplot-nox; REPORT.md written without charts", stderr.Trim());
        Assert.Empty(Directory.GetFiles(_output, "chart-*.png"));
        Assert.Contains("charts drawn by no tool: gnuplot was not installed", Report, StringComparison.Ordinal);
        Assert.Contains("_Chart chart-keepalive-rps.png not drawn: gnuplot was not installed", Report, StringComparison.Ordinal);
        Assert.DoesNotContain("](chart-", Report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_results_exit_2_with_one_line_naming_file_and_line()
    {
        string results = Path.Combine(_input, "results.tsv");
        File.AppendAllText(results, "keepalive\t-\thello\t4\trps\tfast\n");

        var (exit, stdout, stderr) = await ReportProcess.RunAsync(null, "--input", _input, "--output", _output);

        Assert.Equal(2, exit);
        Assert.Equal($"fastsock-perf-report: {results}:75: value 'fast' is not a number (decimal, with '.' as the separator)", stderr.Trim());
        Assert.Empty(stdout);
        Assert.False(File.Exists(Path.Combine(_output, "REPORT.md")));
    }

    [Fact]
    public async Task Missing_input_directory_exits_2_with_one_line()
    {
        string missing = Path.Combine(_input, "no-such-run");
        var (exit, _, stderr) = await ReportProcess.RunAsync(null, "--input", missing, "--output", _output);

        Assert.Equal(2, exit);
        Assert.Equal($"fastsock-perf-report: {missing}: no such directory (--input takes the run directory perf/run wrote)", stderr.Trim());
    }
}
