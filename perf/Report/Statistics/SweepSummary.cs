namespace Fastsock.Perf.Report.Statistics;

/// <summary>
/// A sweep scenario: the same servers measured at several concurrency levels (wrk -c), each level a
/// <see cref="ScenarioSummary"/>, lowest level first. Servers and metrics are the union over the levels, in order.
/// </summary>
internal sealed class SweepSummary
{
    private SweepSummary(string scenario, List<ScenarioSummary> levels)
    {
        Scenario = scenario;
        Levels = levels;
        var servers = new List<string>();
        var metrics = new List<string>();
        foreach (var level in levels)
        {
            AddNew(servers, level.Servers);
            AddNew(metrics, level.Metrics);
        }

        Servers = servers;
        Metrics = metrics;
    }

    public string Scenario { get; }

    public IReadOnlyList<ScenarioSummary> Levels { get; }

    public IReadOnlyList<string> Servers { get; }

    public IReadOnlyList<string> Metrics { get; }

    /// <summary>The subject of the lowest level: the first server perf/run measured.</summary>
    public string Subject => Levels[0].Subject;

    /// <summary>The sweeps among <paramref name="scenarios"/> (those with a concurrency level), in order.</summary>
    public static List<SweepSummary> From(IReadOnlyList<ScenarioSummary> scenarios)
    {
        var order = new List<string>();
        var levels = new Dictionary<string, List<ScenarioSummary>>(StringComparer.Ordinal);
        foreach (var scenario in scenarios)
        {
            if (scenario.Clients is null)
            {
                continue;
            }

            if (!levels.TryGetValue(scenario.Scenario, out var list))
            {
                levels[scenario.Scenario] = list = [];
                order.Add(scenario.Scenario);
            }

            list.Add(scenario);
        }

        return order.ConvertAll(s =>
        {
            var list = levels[s];
            list.Sort((a, b) => a.Clients!.Value.CompareTo(b.Clients!.Value));
            return new SweepSummary(s, list);
        });
    }

    private static void AddNew(List<string> into, IReadOnlyList<string> items)
    {
        foreach (string item in items)
        {
            if (!into.Contains(item))
            {
                into.Add(item);
            }
        }
    }
}
