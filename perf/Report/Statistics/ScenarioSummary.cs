using Fastsock.Perf.Report.Input;

namespace Fastsock.Perf.Report.Statistics;

/// <summary>
/// One scenario's results (one concurrency level of a sweep scenario): servers and metrics in file order, a
/// <see cref="Summary"/> per (server, metric). The first server in file order is the subject; the others are its peers.
/// </summary>
internal sealed class ScenarioSummary
{
    private readonly Dictionary<(string Server, string Metric), Summary> _summaries;

    private ScenarioSummary(string scenario, int? clients, List<string> servers, List<string> metrics, Dictionary<(string, string), Summary> summaries)
    {
        Scenario = scenario;
        Clients = clients;
        Servers = servers;
        Metrics = metrics;
        _summaries = summaries;
    }

    public string Scenario { get; }

    /// <summary>The sweep's concurrency level (wrk -c), or null for a scenario that is not a sweep.</summary>
    public int? Clients { get; }

    /// <summary>"proxy-http, 1,000 clients" for a sweep level, else the scenario's name.</summary>
    public string Title => Clients is { } c ? $"{Scenario}, {Figures.Value(c)} clients" : Scenario;

    public IReadOnlyList<string> Servers { get; }

    public IReadOnlyList<string> Metrics { get; }

    public string Subject => Servers[0];

    public IEnumerable<string> Peers => Servers.Skip(1);

    public Summary? Get(string server, string metric) => _summaries.GetValueOrDefault((server, metric));

    /// <summary>
    /// Groups measurements by scenario and concurrency level: scenarios in the order they first appear, the levels of a
    /// sweep together, lowest first.
    /// </summary>
    public static List<ScenarioSummary> FromMeasurements(IEnumerable<Measurement> measurements)
    {
        var order = new List<string>();
        var byScenario = new Dictionary<string, List<Measurement>>(StringComparer.Ordinal);
        foreach (var m in measurements)
        {
            if (!byScenario.TryGetValue(m.Scenario, out var list))
            {
                byScenario[m.Scenario] = list = [];
                order.Add(m.Scenario);
            }

            list.Add(m);
        }

        var result = new List<ScenarioSummary>();
        foreach (string scenario in order)
        {
            var levels = new SortedDictionary<int, List<Measurement>>();
            var plain = new List<Measurement>();
            foreach (var m in byScenario[scenario])
            {
                if (m.Clients is not { } c)
                {
                    plain.Add(m);
                }
                else if (levels.TryGetValue(c, out var list))
                {
                    list.Add(m);
                }
                else
                {
                    levels[c] = [m];
                }
            }

            if (plain.Count > 0)
            {
                result.Add(Build(scenario, null, plain));
            }

            foreach (var (clients, list) in levels)
            {
                result.Add(Build(scenario, clients, list));
            }
        }

        return result;
    }

    private static ScenarioSummary Build(string scenario, int? clients, List<Measurement> measurements)
    {
        var servers = new List<string>();
        var metrics = new List<string>();
        var values = new Dictionary<(string, string), List<(int Run, double Value)>>();
        foreach (var m in measurements)
        {
            if (!servers.Contains(m.Server))
            {
                servers.Add(m.Server);
            }

            if (!metrics.Contains(m.Metric))
            {
                metrics.Add(m.Metric);
            }

            if (!values.TryGetValue((m.Server, m.Metric), out var list))
            {
                values[(m.Server, m.Metric)] = list = [];
            }

            list.Add((m.Run, m.Value));
        }

        var summaries = new Dictionary<(string, string), Summary>();
        foreach (var (key, runs) in values)
        {
            runs.Sort((a, b) => a.Run.CompareTo(b.Run));
            summaries[key] = Summary.Of(runs.ConvertAll(r => r.Value));
        }

        return new ScenarioSummary(scenario, clients, servers, metrics, summaries);
    }
}
