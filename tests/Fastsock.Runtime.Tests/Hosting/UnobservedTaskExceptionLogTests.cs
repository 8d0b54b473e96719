using System.Runtime.CompilerServices;
using Fastsock.Hosting;
using Fastsock.Tests.Discovery;
using Fastsock.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Fastsock.Tests.Hosting;

/// <summary>
/// <see cref="UnobservedTaskExceptionLog"/>, as the proxy and Hello run it: a task that faults with nothing awaiting it
/// is dropped, and garbage collections run until the runtime raises the event from the task's finalizer. The event is
/// process-wide, so other tests' faults may arrive meanwhile: each test looks for its own fault by a unique marker.
/// </summary>
public sealed class UnobservedTaskExceptionLogTests
{
    [Fact]
    public async Task A_task_that_faults_with_nothing_awaiting_it_is_one_warning_line_counted_and_marked_observed()
    {
        var logger = new RecordingLogger();
        using var log = new UnobservedTaskExceptionLog(logger);
        string marker = $"fault {Guid.NewGuid():N}";
        bool? observedAfterTheLog = null;

        // Subscribed after the log, so it sees what the log did to the event.
        EventHandler<UnobservedTaskExceptionEventArgs> probe = (_, e) =>
        {
            if (e.Exception.ToString().Contains(marker, StringComparison.Ordinal))
            {
                observedAfterTheLog = e.Observed;
            }
        };
        TaskScheduler.UnobservedTaskException += probe;
        try
        {
            FaultAndForget($"{marker}\nsecond line of the message");
            await CollectUntilAsync(() => observedAfterTheLog is not null, marker);
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= probe;
        }

        var line = Assert.Single(logger.Lines, l => l.Message.Contains(marker, StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal($"A task failed and nothing awaited it: System.InvalidOperationException: {marker}", line.Message);
        Assert.True(log.Count >= 1, $"the log counted {log.Count} faults after logging one");
        Assert.True(observedAfterTheLog, "the fault was not marked observed");
    }

    [Fact]
    public async Task A_disposed_log_neither_logs_nor_counts_later_faults()
    {
        var logger = new RecordingLogger();
        var log = new UnobservedTaskExceptionLog(logger);
        log.Dispose();
        string marker = $"fault {Guid.NewGuid():N}";
        bool raised = false;
        EventHandler<UnobservedTaskExceptionEventArgs> probe = (_, e) =>
        {
            if (e.Exception.ToString().Contains(marker, StringComparison.Ordinal))
            {
                e.SetObserved();
                raised = true;
            }
        };
        TaskScheduler.UnobservedTaskException += probe;
        try
        {
            FaultAndForget(marker);
            await CollectUntilAsync(() => Volatile.Read(ref raised), marker);
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= probe;
        }

        Assert.Equal(0, log.Count);
        Assert.Empty(logger.Lines);
    }

    /// <summary>Runs a task that throws and waits for it to end without observing it; the task is unreachable after.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FaultAndForget(string message)
    {
        var task = Task.Run(new Action(() => throw new InvalidOperationException(message)));
        Assert.True(SpinWait.SpinUntil(() => task.IsCompleted, Clients.Timeout), "the faulting task did not end");
    }

    private static async Task CollectUntilAsync(Func<bool> raised, string marker) =>
        await Eventually.AssertAsync(
            () =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                return raised();
            },
            () => $"no UnobservedTaskException event for '{marker}' after garbage collections");
}
