namespace Fastsock.Engine;

/// <summary>Runs one action on each worker's own thread (listener changes, shutdown steps) and waits for all.</summary>
internal static class WorkerFanOut
{
    /// <summary>
    /// Posts <paramref name="action"/> to every worker; the task ends when each has run it (or has already exited,
    /// then there is nothing left to act on) and carries the first failure.
    /// </summary>
    public static Task OnEachAsync(IReadOnlyList<Worker> workers, Action<Worker> action)
    {
        var tasks = new Task[workers.Count];
        for (int i = 0; i < workers.Count; i++)
        {
            var worker = workers[i];
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tasks[i] = done.Task;
            if (worker.Exited.IsCompleted)
            {
                done.TrySetResult();
                continue;
            }

            worker.Post(_ =>
            {
                try
                {
                    action(worker);
                    done.TrySetResult();
                }
                catch (Exception ex)
                {
                    done.TrySetException(ex);
                }
            }, null);
        }

        return Task.WhenAll(tasks);
    }
}
