using Fastsock.Perf.Report.Charts;
using Fastsock.Perf.Report.Input;
using Fastsock.Perf.Report.Statistics;

namespace Fastsock.Tests.Perf;

public sealed class ChartPlanTests
{
    private static ScenarioSummary Scenario(string scenario, params string[] metrics)
    {
        var rows = new List<Measurement>();
        foreach (string metric in metrics)
        {
            rows.Add(new Measurement(scenario, "hello", 1, metric, 1));
            rows.Add(new Measurement(scenario, "nginx", 1, metric, 2));
        }

        return ScenarioSummary.FromMeasurements(rows).Single();
    }

    [Fact]
    public void Request_scenarios_chart_requests_per_second_and_cpu_per_request()
    {
        var charts = ChartPlan.For(Scenario("keepalive", "cpu_us_per_req", "errors", "rps"));
        Assert.Equal(["chart-keepalive-rps.png", "chart-keepalive-cpu_us_per_req.png"], charts.Select(c => c.FileName));
    }

    [Fact]
    public void Tcp_proxy_headline_is_cpu_seconds_per_gigabyte()
    {
        var scenario = Scenario("proxy-tcp", "gbps", "cpu_s_per_gb");
        Assert.Equal("cpu_s_per_gb", ChartPlan.Headline(scenario));
        Assert.Equal(["chart-proxy-tcp-cpu_s_per_gb.png"], ChartPlan.For(scenario).Select(c => c.FileName));
    }

    [Fact]
    public void Unknown_scenarios_headline_their_first_metric_in_file_order()
    {
        Assert.Equal("widgets", ChartPlan.Headline(Scenario("new-thing", "widgets", "rps")));
    }

    [Fact]
    public void Sweep_levels_get_no_bar_charts_and_the_sweep_charts_its_headline_and_user_cpu_across_levels()
    {
        var rows = new List<Measurement>();
        foreach (int clients in new[] { 1000, 64 })
        {
            foreach (string metric in new[] { "cpu_us_per_req", "cpu_user_us_per_req", "rps" })
            {
                rows.Add(new Measurement("proxy-http", "fastsock-proxy", 1, metric, 1, clients));
                rows.Add(new Measurement("proxy-http", "haproxy", 1, metric, 2, clients));
            }
        }

        var scenarios = ScenarioSummary.FromMeasurements(rows);
        Assert.Equal(["proxy-http, 64 clients", "proxy-http, 1,000 clients"], scenarios.Select(s => s.Title));
        Assert.Empty(scenarios.SelectMany(ChartPlan.For));

        var sweep = SweepSummary.From(scenarios).Single();
        Assert.Equal([64, 1000], sweep.Levels.Select(l => l.Clients!.Value));
        Assert.Equal(["chart-proxy-http-rps.png", "chart-proxy-http-cpu_user_us_per_req.png"], ChartPlan.For(sweep).Select(c => c.FileName));
    }

    [Fact]
    public void Servers_and_metrics_keep_file_order_and_the_first_server_is_the_subject()
    {
        var rows = new List<Measurement>
        {
            new("close", "nginx", 1, "rps", 1), new("close", "hello", 1, "rps", 2), new("close", "nginx", 1, "errors", 0),
        };
        var scenario = ScenarioSummary.FromMeasurements(rows).Single();
        Assert.Equal("nginx", scenario.Subject);
        Assert.Equal(["hello"], scenario.Peers);
        Assert.Equal(["rps", "errors"], scenario.Metrics);
    }
}
