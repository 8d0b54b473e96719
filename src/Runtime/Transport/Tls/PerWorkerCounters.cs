namespace Fastsock.Transport.Tls;

/// <summary>One worker's counters: summed into a total for readers on other threads.</summary>
internal interface IWorkerCounters<in T>
{
    void AddTo(T total);
}

/// <summary>
/// Counters of type <typeparamref name="T"/>, one object per worker index, created by that worker on its first use: each
/// worker writes only its own object, so no cache line is written by two cores. Readers sum them.
/// </summary>
internal sealed class PerWorkerCounters<T>
    where T : class, IWorkerCounters<T>, new()
{
    private readonly Lock _grow = new();
    private T?[] _workers = new T?[8];

    /// <summary>The counters of <paramref name="worker"/>; the first call for a worker creates them under a lock no later call takes.</summary>
    public T For(int worker)
    {
        var workers = Volatile.Read(ref _workers);
        if ((uint)worker < (uint)workers.Length && workers[worker] is { } counters)
        {
            return counters;
        }

        lock (_grow)
        {
            workers = _workers;
            if (worker >= workers.Length)
            {
                Array.Resize(ref workers, Math.Max(worker + 1, workers.Length * 2));
            }

            counters = workers[worker] ??= new T();
            Volatile.Write(ref _workers, workers);
            return counters;
        }
    }

    /// <summary>The totals over all workers at this moment (each counter read once; they are not a consistent cut).</summary>
    public T Sum()
    {
        var total = new T();
        foreach (var worker in Volatile.Read(ref _workers))
        {
            worker?.AddTo(total);
        }

        return total;
    }

    /// <summary>The counts of one worker; all zero for a worker that has not counted anything yet.</summary>
    public T Sum(int worker)
    {
        var total = new T();
        var workers = Volatile.Read(ref _workers);
        if ((uint)worker < (uint)workers.Length)
        {
            workers[worker]?.AddTo(total);
        }

        return total;
    }
}
