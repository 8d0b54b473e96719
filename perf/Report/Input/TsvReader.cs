namespace Fastsock.Perf.Report.Input;

/// <summary>One data line of a TSV file with its 1-based line number, for error messages.</summary>
internal readonly record struct TsvRow(int Line, string[] Fields);

/// <summary>Reads a tab-separated file with a fixed header; every problem names the file and the line.</summary>
internal static class TsvReader
{
    public static List<TsvRow> Read(string path, params string[] header) => Read(path, [header], out _);

    /// <summary>Accepts any of <paramref name="headers"/> (e.g. a current and an older format); says which matched.</summary>
    public static List<TsvRow> Read(string path, IReadOnlyList<string[]> headers, out int headerIndex)
    {
        if (!File.Exists(path))
        {
            throw new InputFormatException(path, 0, "missing (a run directory holds results.tsv, scenarios.tsv and meta.tsv, written by perf/run)");
        }

        string[] lines = File.ReadAllLines(path);
        string expected = string.Join("' or '", headers.Select(h => Visible(string.Join('\t', h))));
        if (lines.Length == 0)
        {
            throw new InputFormatException(path, 1, $"empty file, expected the header '{expected}'");
        }

        string actual = lines[0].TrimEnd('\r').TrimStart('\uFEFF');
        headerIndex = -1;
        for (int h = 0; h < headers.Count && headerIndex < 0; h++)
        {
            if (actual == string.Join('\t', headers[h]))
            {
                headerIndex = h;
            }
        }

        if (headerIndex < 0)
        {
            throw new InputFormatException(path, 1, $"header is '{Visible(actual)}', expected '{expected}' (tab-separated)");
        }

        string[] header = headers[headerIndex];

        var rows = new List<TsvRow>(lines.Length - 1);
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            string[] fields = line.Split('\t');
            if (fields.Length != header.Length)
            {
                throw new InputFormatException(path, i + 1, $"{fields.Length} column(s), expected {header.Length} ({string.Join(", ", header)}), tab-separated");
            }

            for (int f = 0; f < fields.Length; f++)
            {
                if (fields[f].Trim().Length == 0)
                {
                    throw new InputFormatException(path, i + 1, $"column '{header[f]}' is empty");
                }
            }

            rows.Add(new TsvRow(i + 1, fields));
        }

        return rows;
    }

    /// <summary>Tabs shown as \t so that a header with spaces instead of tabs is visible in one line.</summary>
    private static string Visible(string text) => text.Replace("\t", "\\t", StringComparison.Ordinal);
}
