using Fastsock.Engine;
using Fastsock.Hosting;

namespace Fastsock.Tests.Support;

/// <summary>Runs test code on a worker's thread, where the runtime expects outbound connects and where awaits resume.</summary>
internal static class WorkerThreads
{
    public static Task<T> OnWorker<T>(FastsockServer server, int worker, Func<Task<T>> body) => OnWorker(server.WorkerList[worker], body);

    /// <summary>Starts <paramref name="body"/> on <paramref name="worker"/>'s thread; its result (or failure) within <see cref="Clients.Timeout"/>.</summary>
    public static Task<T> OnWorker<T>(Worker worker, Func<Task<T>> body)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.Post(_ =>
        {
            Task<T> task;
            try
            {
                task = body();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
                return;
            }

            task.ContinueWith(
                t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        done.TrySetResult(t.Result);
                    }
                    else if (t.IsCanceled)
                    {
                        done.TrySetCanceled();
                    }
                    else
                    {
                        done.TrySetException(t.Exception!.InnerExceptions);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }, null);
        return done.Task.WaitAsync(Clients.Timeout);
    }

    /// <summary>What <paramref name="worker"/>'s thread has allocated so far (read on that thread).</summary>
    public static Task<long> AllocatedBytes(Worker worker) =>
        OnWorker(worker, () => Task.FromResult(GC.GetAllocatedBytesForCurrentThread()));
}
