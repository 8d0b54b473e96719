using System.Text;
using System.Text.Json;
using Fastsock.Samples.Proxy.Stats;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// The proxy's count of unobserved task exceptions (each also one warning line, UnobservedTaskExceptionLogTests) is
/// in its admin JSON and in /metrics; AdminStatsTests reads both from a real proxy process, where a normal run counts 0.
/// </summary>
public sealed class UnobservedTaskExceptionStatsTests
{
    [Fact]
    public void The_stats_json_and_the_metrics_show_the_unobserved_task_exceptions_counted()
    {
        var report = new StatsReport([], [], []) { UnobservedTaskExceptions = 3 };

        using var json = JsonDocument.Parse(StatsJsonWriter.Write(report));
        var metrics = AdminStatsTests.ParseMetrics(Encoding.UTF8.GetString(PrometheusText.Write(report)));

        Assert.Equal(3, json.RootElement.GetProperty("unobservedTaskExceptions").GetInt64());
        Assert.Equal(3, metrics["fastsock_proxy_unobserved_task_exceptions_total"]);
    }
}
