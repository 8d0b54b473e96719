using Fastsock.Engine;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport.Pipes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fastsock.Tests.Transport.Pipes;

/// <summary>A real worker of its own (thread, run queue, pool) for pipe tests, and a way to run a body on it.</summary>
internal sealed class PipeTestWorker : IDisposable
{
    private PipeTestWorker(Worker worker) => Worker = worker;

    public Worker Worker { get; }

    public static async Task<PipeTestWorker> StartAsync()
    {
        var worker = new Worker(0, CpuSet.Allowed()[0], NullLogger.Instance);
        worker.Start();
        await worker.Started.WaitAsync(Clients.Timeout);
        return new PipeTestWorker(worker);
    }

    public WorkerPipe NewPipe(long pauseWriterThreshold = 64 * 1024, long resumeWriterThreshold = 32 * 1024, bool readerRunsInline = false) =>
        new(Worker, pauseWriterThreshold, resumeWriterThreshold, readerRunsInline);

    /// <summary>Runs <paramref name="body"/> on the worker's thread; its awaits come back there.</summary>
    public Task<T> Run<T>(Func<Task<T>> body)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Worker.Post(_ =>
        {
            Task<T> task;
            try
            {
                task = body();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
                return;
            }

            task.ContinueWith(
                t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        done.SetResult(t.Result);
                    }
                    else
                    {
                        done.SetException(t.Exception!.InnerExceptions);
                    }
                },
                TaskScheduler.Default);
        }, null);
        return done.Task.WaitAsync(Clients.Timeout);
    }

    public Task Run(Func<Task> body) => Run(async () =>
    {
        await body();
        return true;
    });

    public void Dispose() => Worker.Dispose();
}
