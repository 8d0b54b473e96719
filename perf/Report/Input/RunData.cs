namespace Fastsock.Perf.Report.Input;

/// <summary>
/// One row of results.tsv: one metric of one run of one server in one scenario; <paramref name="Clients"/> is the
/// concurrency level (wrk -c) of a sweep scenario, null outside the sweeps.
/// </summary>
internal sealed record Measurement(string Scenario, string Server, int Run, string Metric, double Value, int? Clients = null);

/// <summary>One row of scenarios.tsv: a command line used for a scenario and server.</summary>
internal sealed record ScenarioCommand(string Scenario, string Server, string Command);

/// <summary>Everything a run directory holds, each list in file order.</summary>
internal sealed record RunData(
    string Directory,
    IReadOnlyList<Measurement> Measurements,
    IReadOnlyList<ScenarioCommand> Commands,
    IReadOnlyList<KeyValuePair<string, string>> Meta)
{
    public string? MetaValue(string key)
    {
        foreach (var (k, v) in Meta)
        {
            if (k == key)
            {
                return v;
            }
        }

        return null;
    }
}
