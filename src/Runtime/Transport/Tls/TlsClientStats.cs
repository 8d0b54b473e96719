namespace Fastsock.Transport.Tls;

/// <summary>
/// Handshake counts of one TLS client layer (one <see cref="TlsClientOptions"/>). Each worker writes only its own
/// counters object, created by that worker on its first handshake, so no cache line is written by two cores;
/// <see cref="Snapshot"/> sums them for readers.
/// </summary>
public sealed class TlsClientStats
{
    private static readonly int ReasonCount = Enum.GetValues<TlsClientFailureReason>().Length;

    private readonly Lock _grow = new();
    private WorkerCounters?[] _workers = new WorkerCounters?[8];

    /// <summary>The totals over all workers at this moment (each counter read once; they are not a consistent cut).</summary>
    public TlsClientStatsSnapshot Snapshot()
    {
        long handshakes = 0, hops = 0, closed = 0;
        var failures = new long[ReasonCount];
        foreach (var worker in Volatile.Read(ref _workers))
        {
            if (worker is null)
            {
                continue;
            }

            handshakes += Interlocked.Read(ref worker.Handshakes);
            hops += Interlocked.Read(ref worker.Hops);
            closed += Interlocked.Read(ref worker.Closed);
            for (int i = 0; i < failures.Length; i++)
            {
                failures[i] += Interlocked.Read(ref worker.Failures[i]);
            }
        }

        return new TlsClientStatsSnapshot(handshakes, failures, hops, closed);
    }

    internal void Succeeded(int worker) => Interlocked.Increment(ref For(worker).Handshakes);

    internal void Failed(int worker, TlsClientFailureReason reason) => Interlocked.Increment(ref For(worker).Failures[(int)reason]);

    /// <summary>A connection under the layer has ended; <paramref name="hops"/> of its stream calls came from off the worker.</summary>
    internal void Closed(int worker, long hops)
    {
        var counters = For(worker);
        Interlocked.Increment(ref counters.Closed);
        if (hops > 0)
        {
            Interlocked.Add(ref counters.Hops, hops);
        }
    }

    private WorkerCounters For(int worker)
    {
        var workers = Volatile.Read(ref _workers);
        if ((uint)worker < (uint)workers.Length && workers[worker] is { } counters)
        {
            return counters;
        }

        // Once per worker per layer: grow or fill the slot under a lock no handshake takes afterwards.
        lock (_grow)
        {
            workers = _workers;
            if (worker >= workers.Length)
            {
                Array.Resize(ref workers, Math.Max(worker + 1, workers.Length * 2));
            }

            counters = workers[worker] ??= new WorkerCounters();
            Volatile.Write(ref _workers, workers);
            return counters;
        }
    }

    /// <summary>One worker's counters; the interlocked adds are uncontended and let readers on other threads see whole values.</summary>
    private sealed class WorkerCounters
    {
        public readonly long[] Failures = new long[ReasonCount];
        public long Handshakes;
        public long Hops;
        public long Closed;
    }
}

/// <summary>Client handshake counts summed over workers.</summary>
public sealed class TlsClientStatsSnapshot
{
    private readonly long[] _failures;

    internal TlsClientStatsSnapshot(long handshakes, long[] failures, long hopsToWorker, long closed)
    {
        Handshakes = handshakes;
        _failures = failures;
        HopsToWorker = hopsToWorker;
        Closed = closed;
        foreach (long count in failures)
        {
            Failures += count;
        }
    }

    /// <summary>Handshakes completed (and, with verification on, the certificate accepted).</summary>
    public long Handshakes { get; }

    /// <summary>Handshakes that failed, whatever the reason.</summary>
    public long Failures { get; }

    /// <summary>
    /// TLS stream calls that arrived off the connection's worker and were posted back to it (closed connections
    /// only). Zero when SslStream stays on the worker, as it should.
    /// </summary>
    public long HopsToWorker { get; }

    /// <summary>Connections that have ended under the layer, whether or not their handshake completed.</summary>
    public long Closed { get; }

    /// <summary>Handshakes that failed for <paramref name="reason"/>.</summary>
    public long FailuresOf(TlsClientFailureReason reason) => _failures[(int)reason];

    /// <inheritdoc/>
    public override string ToString() =>
        $"handshakes {Handshakes}, failures {Failures} ({string.Join(", ", Enum.GetValues<TlsClientFailureReason>().Select(r => $"{r} {FailuresOf(r)}"))}), closed {Closed}, hops {HopsToWorker}";
}
