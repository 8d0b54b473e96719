using System.Globalization;

namespace Fastsock.Perf.Report.Input;

/// <summary>Loads and checks the three files perf/run writes into a run directory.</summary>
internal static class RunDirectory
{
    public const string ResultsFile = "results.tsv";
    public const string ScenariosFile = "scenarios.tsv";
    public const string MetaFile = "meta.tsv";

    public static RunData Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new InputFormatException(directory, 0, "no such directory (--input takes the run directory perf/run wrote)");
        }

        return new RunData(
            directory,
            ReadResults(Path.Combine(directory, ResultsFile)),
            ReadCommands(Path.Combine(directory, ScenariosFile)),
            ReadMeta(Path.Combine(directory, MetaFile)));
    }

    /// <summary>results.tsv as perf/run writes it: clients is a sweep's concurrency level, "-" outside the sweeps.</summary>
    public static readonly string[] ResultsHeader = ["scenario", "clients", "server", "run", "metric", "value"];

    /// <summary>results.tsv before the sweeps (no clients column), still read.</summary>
    public static readonly string[] ResultsHeaderWithoutClients = ["scenario", "server", "run", "metric", "value"];

    private static List<Measurement> ReadResults(string path)
    {
        var rows = TsvReader.Read(path, [ResultsHeader, ResultsHeaderWithoutClients], out int format);
        if (rows.Count == 0)
        {
            throw new InputFormatException(path, 0, "no result rows after the header");
        }

        var seen = new Dictionary<(string, int?, string, int, string), int>();
        var measurements = new List<Measurement>(rows.Count);
        foreach (var (line, row) in rows)
        {
            int? clients = null;
            string[] f = row;
            if (format == 0)
            {
                clients = Clients(path, line, row[1]);
                f = [row[0], row[2], row[3], row[4], row[5]];
            }

            if (!int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int run) || run < 1)
            {
                throw new InputFormatException(path, line, $"run '{f[2]}' is not a positive integer");
            }

            if (!double.TryParse(f[4], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                    CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            {
                throw new InputFormatException(path, line, $"value '{f[4]}' is not a number (decimal, with '.' as the separator)");
            }

            var key = (f[0], clients, f[1], run, f[3]);
            if (seen.TryGetValue(key, out int first))
            {
                string level = clients is null ? string.Empty : $" at {clients} clients";
                throw new InputFormatException(path, line, $"{f[0]}/{f[1]}{level} run {run} {f[3]} already given on line {first}");
            }

            seen.Add(key, line);
            measurements.Add(new Measurement(f[0], f[1], run, f[3], value, clients));
        }

        return measurements;
    }

    private static int? Clients(string path, int line, string text)
    {
        if (text == "-")
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int clients) || clients < 1)
        {
            throw new InputFormatException(path, line, $"clients '{text}' is neither a positive integer (a sweep's wrk -c) nor '-'");
        }

        return clients;
    }

    private static List<ScenarioCommand> ReadCommands(string path)
    {
        var rows = TsvReader.Read(path, "scenario", "server", "command");
        var commands = new List<ScenarioCommand>(rows.Count);
        foreach (var (_, f) in rows)
        {
            commands.Add(new ScenarioCommand(f[0], f[1], f[2]));
        }

        return commands;
    }

    private static List<KeyValuePair<string, string>> ReadMeta(string path)
    {
        var rows = TsvReader.Read(path, "key", "value");
        var meta = new List<KeyValuePair<string, string>>(rows.Count);
        foreach (var (_, f) in rows)
        {
            meta.Add(new KeyValuePair<string, string>(f[0], f[1]));
        }

        return meta;
    }
}
