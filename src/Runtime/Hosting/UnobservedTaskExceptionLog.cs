using Microsoft.Extensions.Logging;

namespace Fastsock.Hosting;

/// <summary>
/// Logs and counts the faults of tasks that nothing awaited (<see cref="TaskScheduler.UnobservedTaskException"/>): a
/// fire-and-forget task that failed, such as a close nobody awaited, otherwise vanishes without a trace. Each fault is
/// one warning line naming the exception's type and the first line of its message, and is marked observed, so the
/// process stays up. The runtime raises the event when the faulted task is collected, so the line comes at a garbage
/// collection after the fault, not at it. Create one per process, early; dispose it to stop.
/// </summary>
public sealed partial class UnobservedTaskExceptionLog : IDisposable
{
    private readonly ILogger _logger;
    private long _count;
    private int _disposed;

    /// <summary>Starts logging unobserved task exceptions to <paramref name="logger"/>.</summary>
    public UnobservedTaskExceptionLog(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    /// <summary>Faults logged since this was created; read from any thread.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Stops logging: later faults go unseen again.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        e.SetObserved();
        Interlocked.Increment(ref _count);

        // The event wraps the task's exceptions in one AggregateException: name the task's own when it has one.
        Exception fault = e.Exception.InnerExceptions.Count == 1 ? e.Exception.InnerExceptions[0] : e.Exception;
        Unobserved(_logger, fault.GetType().FullName ?? fault.GetType().Name, FirstLine(fault.Message));
    }

    // One line per fault: a stack trace or a multi-line message would spread one event over many log lines.
    private static string FirstLine(string message)
    {
        int end = message.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? message : message[..end];
    }

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "A task failed and nothing awaited it: {ExceptionType}: {ExceptionMessage}")]
    private static partial void Unobserved(ILogger logger, string exceptionType, string exceptionMessage);
}
