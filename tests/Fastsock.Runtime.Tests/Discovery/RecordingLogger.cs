using Microsoft.Extensions.Logging;

namespace Fastsock.Tests.Discovery;

/// <summary>Keeps every line logged through it, so a test can count what was logged and at which level.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly Lock _gate = new();
    private readonly List<(LogLevel Level, string Message)> _lines = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_gate)
        {
            _lines.Add((logLevel, formatter(state, exception)));
        }
    }

    public int Count(LogLevel level, string containing) => Lines.Count(l => l.Level == level && l.Message.Contains(containing, StringComparison.Ordinal));

    public override string ToString() => string.Join("\n", Lines.Select(l => $"{l.Level}: {l.Message}"));
}
