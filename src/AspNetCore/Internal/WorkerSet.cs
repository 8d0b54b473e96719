using Fastsock.Engine;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.AspNetCore.Internal;

/// <summary>
/// The pinned workers Kestrel's endpoints share: one per configured CPU, each with its epoll loop, buffer pool and
/// connection pool. Started by the first bind, stopped when the transport factory is disposed (after Kestrel stopped).
/// </summary>
internal sealed class WorkerSet : IAsyncDisposable
{
    private readonly Worker[] _workers;
    private readonly SocketConnectionPool[] _pools;
    private readonly WorkerConnectionIds[] _ids;
    private int _disposed;

    private WorkerSet(Worker[] workers, SocketConnectionPool[] pools)
    {
        _workers = workers;
        _pools = pools;
        _ids = new WorkerConnectionIds[workers.Length];
        for (int i = 0; i < workers.Length; i++)
        {
            _ids[i] = new WorkerConnectionIds(i);
        }
    }

    public IReadOnlyList<Worker> Workers => _workers;

    public IReadOnlyList<SocketConnectionPool> Pools => _pools;

    public Worker this[int index] => _workers[index];

    /// <summary>The worker's own id source (no counter shared across cores).</summary>
    public WorkerConnectionIds IdsFor(int index) => _ids[index];

    public static async Task<WorkerSet> StartAsync(FastsockTransportOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        options.Validate();
        options.Connection.ThreadSafePipes = true;
        var cores = options.ResolveCores();
        var logger = loggerFactory.CreateLogger("Fastsock.Worker");
        var workers = new Worker[cores.Count];
        var pools = new SocketConnectionPool[cores.Count];
        try
        {
            for (int i = 0; i < cores.Count; i++)
            {
                workers[i] = new Worker(i, cores[i], logger);
                pools[i] = new SocketConnectionPool(workers[i], options.Connection, options.PooledConnectionsPerWorker);
            }

            foreach (var worker in workers)
            {
                worker.Start();
            }

            await Task.WhenAll(workers.Select(w => w.Started)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await StopAsync(workers).ConfigureAwait(false);
            throw;
        }

        return new WorkerSet(workers, pools);
    }

    /// <summary>Runs <paramref name="action"/> on every worker's own thread and waits for all of them.</summary>
    public Task OnEachWorkerAsync(Action<Worker> action)
    {
        var tasks = new Task[_workers.Length];
        for (int i = 0; i < _workers.Length; i++)
        {
            var worker = _workers[i];
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

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await StopAsync(_workers).ConfigureAwait(false);
        }
    }

    private static async Task StopAsync(Worker?[] workers)
    {
        foreach (var worker in workers)
        {
            worker?.Stop();
        }

        foreach (var worker in workers)
        {
            if (worker is not null && worker.Started.IsCompletedSuccessfully)
            {
                await worker.Exited.ConfigureAwait(false);
            }
        }

        foreach (var worker in workers)
        {
            worker?.Dispose();
        }
    }
}
