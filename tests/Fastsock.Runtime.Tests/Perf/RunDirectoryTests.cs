using Fastsock.Perf.Report.Input;

namespace Fastsock.Tests.Perf;

/// <summary>Malformed run directories fail with one line naming the file, the line and the problem.</summary>
public sealed class RunDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastsock-report-input-").FullName;

    public RunDirectoryTests()
    {
        File.WriteAllText(Path.Combine(_dir, "results.tsv"), "scenario\tclients\tserver\trun\tmetric\tvalue\nkeepalive\t-\thello\t1\trps\t133280.5\n");
        File.WriteAllText(Path.Combine(_dir, "scenarios.tsv"), "scenario\tserver\tcommand\nkeepalive\thello\twrk -t1 http://x/\n");
        File.WriteAllText(Path.Combine(_dir, "meta.tsv"), "key\tvalue\nkernel\t6.1\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Results => Path.Combine(_dir, "results.tsv");

    private InputFormatException Fails() => Assert.Throws<InputFormatException>(() => RunDirectory.Load(_dir));

    [Fact]
    public void A_well_formed_directory_loads_every_file_in_order()
    {
        var run = RunDirectory.Load(_dir);
        Assert.Equal(new Measurement("keepalive", "hello", 1, "rps", 133280.5), run.Measurements.Single());
        Assert.Equal("wrk -t1 http://x/", run.Commands.Single().Command);
        Assert.Equal("6.1", run.MetaValue("kernel"));
    }

    [Fact]
    public void A_sweep_level_is_read_from_the_clients_column()
    {
        File.AppendAllText(Results, "proxy-http\t1000\tfastsock-proxy\t2\tfirst_2s_rps\t9000\n");
        Assert.Equal(new Measurement("proxy-http", "fastsock-proxy", 2, "first_2s_rps", 9000, 1000), RunDirectory.Load(_dir).Measurements[1]);
    }

    [Fact]
    public void Results_written_before_the_clients_column_are_still_read()
    {
        File.WriteAllText(Results, "scenario\tserver\trun\tmetric\tvalue\nkeepalive\thello\t1\trps\t7\n");
        Assert.Equal(new Measurement("keepalive", "hello", 1, "rps", 7), RunDirectory.Load(_dir).Measurements.Single());
    }

    [Fact]
    public void Clients_that_are_not_a_positive_integer_or_a_dash_name_their_line()
    {
        File.AppendAllText(Results, "keepalive\t0\tnginx\t1\trps\t1\n");
        Assert.Equal($"{Results}:3: clients '0' is neither a positive integer (a sweep's wrk -c) nor '-'", Fails().Message);
    }

    [Fact]
    public void The_same_run_at_two_concurrency_levels_is_not_a_duplicate_but_twice_at_one_level_is()
    {
        File.AppendAllText(Results, "keepalive\t64\thello\t1\trps\t2\nkeepalive\t256\thello\t1\trps\t3\nkeepalive\t64\thello\t1\trps\t4\n");
        Assert.Equal($"{Results}:5: keepalive/hello at 64 clients run 1 rps already given on line 3", Fails().Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        File.Delete(Path.Combine(_dir, "meta.tsv"));
        var ex = Fails();
        Assert.StartsWith(Path.Combine(_dir, "meta.tsv") + ": missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_header_names_line_1_and_the_expected_header()
    {
        File.WriteAllText(Results, "scenario server run metric value\nkeepalive\thello\t1\trps\t1\n");
        var ex = Fails();
        Assert.StartsWith($"{Results}:1: header is", ex.Message, StringComparison.Ordinal);
        Assert.Contains(@"expected 'scenario\tclients\tserver\trun\tmetric\tvalue' or 'scenario\tserver\trun\tmetric\tvalue'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_numeric_value_names_its_line()
    {
        File.AppendAllText(Results, "keepalive\t-\tnginx\t1\trps\t12,5\n");
        Assert.Equal($"{Results}:3: value '12,5' is not a number (decimal, with '.' as the separator)", Fails().Message);
    }

    [Fact]
    public void Wrong_column_count_names_its_line()
    {
        File.AppendAllText(Results, "keepalive\t-\tnginx\t1\trps\n");
        Assert.StartsWith($"{Results}:3: 5 column(s), expected 6", Fails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_that_is_not_a_positive_integer_names_its_line()
    {
        File.AppendAllText(Results, "keepalive\t-\tnginx\tfirst\trps\t1\n");
        Assert.Equal($"{Results}:3: run 'first' is not a positive integer", Fails().Message);
    }

    [Fact]
    public void Duplicate_measurement_names_both_lines()
    {
        File.AppendAllText(Results, "keepalive\t-\thello\t1\trps\t2\n");
        Assert.Equal($"{Results}:3: keepalive/hello run 1 rps already given on line 2", Fails().Message);
    }

    [Fact]
    public void Results_without_rows_are_refused()
    {
        File.WriteAllText(Results, "scenario\tclients\tserver\trun\tmetric\tvalue\n");
        Assert.StartsWith($"{Results}: no result rows", Fails().Message, StringComparison.Ordinal);
    }
}
