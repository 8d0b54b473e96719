namespace Fastsock.Perf.Report.Input;

/// <summary>A run directory that does not follow the input contract; the message is the one line the user sees.</summary>
internal sealed class InputFormatException : Exception
{
    public InputFormatException(string path, int line, string problem)
        : base(line > 0 ? $"{path}:{line}: {problem}" : $"{path}: {problem}")
    {
        Path = path;
        Line = line;
    }

    public InputFormatException()
    {
        Path = string.Empty;
    }

    public InputFormatException(string message)
        : base(message)
    {
        Path = string.Empty;
    }

    public InputFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = string.Empty;
    }

    public string Path { get; }

    /// <summary>1-based line number, 0 when the problem is the whole file.</summary>
    public int Line { get; }
}
