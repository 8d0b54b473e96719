using System.Diagnostics;
using Fastsock.Engine;
using Fastsock.Locality;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Fastsock.Tests.Engine;

/// <summary>A real worker thread waits on its own timer wheel; the .NET thread pool is counted, not mocked.</summary>
public sealed class WorkerDelayTests(ITestOutputHelper output)
{
    private const int Waits = 40;

    [Fact]
    public async Task Waits_resume_on_the_worker_without_running_thread_pool_work_items()
    {
        using var worker = new Worker(0, CpuSet.Allowed()[0], NullLogger.Instance);
        worker.Start();
        await worker.Started;

        // Task.Delay would run one thread-pool work item per wait; the idle window of the same length is the baseline
        // (the test host runs a few of its own). One clean attempt out of three passes.
        var attempts = new List<(long Load, long Idle, int OffWorker)>();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var clock = Stopwatch.StartNew();
            long before = ThreadPool.CompletedWorkItemCount;
            int offWorker = await RunOnWorkerAsync(worker, WaitManyAsync);
            long load = ThreadPool.CompletedWorkItemCount - before;
            var elapsed = clock.Elapsed;
            long idle = await Task.Run(() =>
            {
                long start = ThreadPool.CompletedWorkItemCount;
                Thread.Sleep(elapsed);
                return ThreadPool.CompletedWorkItemCount - start;
            });
            attempts.Add((load, idle, offWorker));
            output.WriteLine($"{Waits} waits in {elapsed.TotalMilliseconds:F0} ms: {load} work items, {idle} idle, {offWorker} resumed off the worker");
            Assert.Equal(0, offWorker);
            if ((load - idle) * 2 < Waits)
            {
                return;
            }
        }

        Assert.Fail($"Every attempt ran about a thread-pool work item per wait: load/idle {string.Join(", ", attempts.Select(a => $"{a.Load}/{a.Idle}"))}.");
    }

    [Fact]
    public async Task A_wait_ends_no_sooner_than_its_delay()
    {
        using var worker = new Worker(0, CpuSet.Allowed()[0], NullLogger.Instance);
        worker.Start();
        await worker.Started;
        long elapsedMs = await RunOnWorkerAsync(worker, async () =>
        {
            var clock = Stopwatch.StartNew();
            await WorkerDelay.WaitAsync(TimeSpan.FromMilliseconds(200));
            return (int)clock.ElapsedMilliseconds;
        });
        Assert.InRange(elapsedMs, 199, 30_000);
    }

    [Fact]
    public async Task Waiting_off_a_worker_thread_says_where_to_call_it()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await WorkerDelay.WaitAsync(TimeSpan.FromMilliseconds(1)));
        Assert.Contains("off a Fastsock worker thread", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Waits one tick <see cref="Waits"/> times; counts the resumptions that were not on the worker thread.</summary>
    private static async Task<int> WaitManyAsync()
    {
        int thread = Environment.CurrentManagedThreadId;
        int offWorker = 0;
        for (int i = 0; i < Waits; i++)
        {
            await WorkerDelay.WaitAsync(TimeSpan.FromMilliseconds(1));
            if (Environment.CurrentManagedThreadId != thread)
            {
                offWorker++;
            }
        }

        return offWorker;
    }

    private static Task<int> RunOnWorkerAsync(Worker worker, Func<Task<int>> body)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.Post(
            async _ =>
            {
                try
                {
                    done.SetResult(await body());
                }
                catch (Exception ex)
                {
                    done.SetException(ex);
                }
            },
            null);
        return done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }
}
