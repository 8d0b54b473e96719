using System.Text;

namespace Fastsock.Perf.Report.Markdown;

/// <summary>A GitHub-flavoured markdown table; columns whose header starts with '>' are right-aligned.</summary>
internal sealed class MarkdownTable
{
    private readonly string[] _headers;
    private readonly bool[] _right;
    private readonly List<string[]> _rows = [];

    public MarkdownTable(params string[] headers)
    {
        _headers = new string[headers.Length];
        _right = new bool[headers.Length];
        for (int i = 0; i < headers.Length; i++)
        {
            _right[i] = headers[i].StartsWith('>');
            _headers[i] = _right[i] ? headers[i][1..] : headers[i];
        }
    }

    public void Add(params string[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"{cells.Length} cells for {_headers.Length} columns", nameof(cells));
        }

        _rows.Add(cells);
    }

    public void AppendTo(StringBuilder text)
    {
        Line(text, _headers);
        var rule = new string[_headers.Length];
        for (int i = 0; i < rule.Length; i++)
        {
            rule[i] = _right[i] ? "---:" : "---";
        }

        text.Append('|').AppendJoin('|', rule).Append("|\n");
        foreach (var row in _rows)
        {
            Line(text, row);
        }

        text.Append('\n');
    }

    private static void Line(StringBuilder text, string[] cells)
    {
        text.Append('|');
        foreach (string cell in cells)
        {
            text.Append(' ').Append(Escape(cell)).Append(" |");
        }

        text.Append('\n');
    }

    /// <summary>A '|' inside a cell would end it; a newline would end the row.</summary>
    public static string Escape(string cell) =>
        cell.Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", string.Empty, StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
