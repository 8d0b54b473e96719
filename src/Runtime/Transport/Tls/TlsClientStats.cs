using System.Net.Security;
using System.Security.Authentication;

namespace Fastsock.Transport.Tls;

/// <summary>
/// Handshake counts of one TLS client layer (one <see cref="TlsClientOptions"/>). Each worker writes only its own
/// counters object, created by that worker on its first handshake, so no cache line is written by two cores;
/// <see cref="Snapshot()"/> sums them for readers.
/// </summary>
public sealed class TlsClientStats
{
    private static readonly int ReasonCount = Enum.GetValues<TlsClientFailureReason>().Length;

    private readonly PerWorkerCounters<WorkerCounters> _workers = new();

    /// <summary>The totals over all workers at this moment (each counter read once; they are not a consistent cut).</summary>
    public TlsClientStatsSnapshot Snapshot() => _workers.Sum().ToSnapshot();

    /// <summary>The counts of one worker (by index); all zero for a worker that has not handshaken yet.</summary>
    public TlsClientStatsSnapshot Snapshot(int worker) => _workers.Sum(worker).ToSnapshot();

    internal void Succeeded(int worker, SslProtocols protocol, TlsCipherSuite cipher, bool resumed)
    {
        var counters = _workers.For(worker);
        Interlocked.Increment(ref counters.Handshakes);
        if (resumed)
        {
            Interlocked.Increment(ref counters.Resumed);
        }

        Interlocked.Increment(ref counters.Ciphers[TlsCipherTable.IndexOf(cipher)]);
        if (protocol == SslProtocols.Tls13)
        {
            Interlocked.Increment(ref counters.Tls13);
        }
        else if (protocol == SslProtocols.Tls12)
        {
            Interlocked.Increment(ref counters.Tls12);
        }
    }

    internal void Failed(int worker, TlsClientFailureReason reason) => Interlocked.Increment(ref _workers.For(worker).Failures[(int)reason]);

    /// <summary>
    /// A connection under the layer has ended; <paramref name="hops"/> of its stream calls came from off the worker, and
    /// <paramref name="recordFailure"/> says whether a record from the server ended it.
    /// </summary>
    internal void Closed(int worker, long hops, TlsClientRecordFailure recordFailure = TlsClientRecordFailure.None)
    {
        var counters = _workers.For(worker);
        Interlocked.Increment(ref counters.Closed);
        if (hops > 0)
        {
            Interlocked.Add(ref counters.Hops, hops);
        }

        if (recordFailure == TlsClientRecordFailure.Rejected)
        {
            Interlocked.Increment(ref counters.BadRecords);
        }
        else if (recordFailure == TlsClientRecordFailure.Truncated)
        {
            Interlocked.Increment(ref counters.TruncatedRecords);
        }
    }

    /// <summary>One worker's counters; the interlocked adds are uncontended and let readers on other threads see whole values.</summary>
    private sealed class WorkerCounters : IWorkerCounters<WorkerCounters>
    {
        public readonly long[] Failures = new long[ReasonCount];
        public readonly long[] Ciphers = new long[TlsCipherTable.Other + 1];
        public long Handshakes;
        public long Resumed;
        public long Tls12;
        public long Tls13;
        public long Hops;
        public long Closed;
        public long BadRecords;
        public long TruncatedRecords;

        public void AddTo(WorkerCounters total)
        {
            total.Handshakes += Interlocked.Read(ref Handshakes);
            total.Resumed += Interlocked.Read(ref Resumed);
            total.Tls12 += Interlocked.Read(ref Tls12);
            total.Tls13 += Interlocked.Read(ref Tls13);
            total.Hops += Interlocked.Read(ref Hops);
            total.Closed += Interlocked.Read(ref Closed);
            total.BadRecords += Interlocked.Read(ref BadRecords);
            total.TruncatedRecords += Interlocked.Read(ref TruncatedRecords);
            for (int i = 0; i < Failures.Length; i++)
            {
                total.Failures[i] += Interlocked.Read(ref Failures[i]);
            }

            for (int i = 0; i < Ciphers.Length; i++)
            {
                total.Ciphers[i] += Interlocked.Read(ref Ciphers[i]);
            }
        }

        public TlsClientStatsSnapshot ToSnapshot() => new(Handshakes, Failures, Hops, Closed)
        {
            Resumed = Resumed,
            Tls12 = Tls12,
            Tls13 = Tls13,
            CipherSuites = Ciphers,
            BadRecords = BadRecords,
            TruncatedRecords = TruncatedRecords,
        };
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

    /// <summary>
    /// Of the handshakes, those that resumed a session (a TLS 1.3 ticket, a TLS 1.2 session id or ticket), as the
    /// server's first flight shows it; the rest were full handshakes.
    /// </summary>
    public long Resumed { get; internal init; }

    /// <summary>Handshakes that failed, whatever the reason.</summary>
    public long Failures { get; }

    /// <summary>Of the handshakes, those that agreed TLS 1.2.</summary>
    public long Tls12 { get; internal init; }

    /// <summary>Of the handshakes, those that agreed TLS 1.3.</summary>
    public long Tls13 { get; internal init; }

    /// <summary>Handshakes by negotiated cipher suite, indexed like <see cref="TlsCipherTable.Names"/> (the last is "other").</summary>
    public IReadOnlyList<long> CipherSuites { get; internal init; } = new long[TlsCipherTable.Other + 1];

    /// <summary>
    /// TLS stream calls that arrived off the connection's worker and were posted back to it (closed connections
    /// only). Zero when SslStream stays on the worker, as it should.
    /// </summary>
    public long HopsToWorker { get; }

    /// <summary>Connections that have ended under the layer, whether or not their handshake completed.</summary>
    public long Closed { get; }

    /// <summary>
    /// Connections closed after their handshake because a record from the server failed to decrypt or verify
    /// (<see cref="TlsClientRecordFailure.Rejected"/>). Not in <see cref="Failures"/>, which counts handshakes.
    /// </summary>
    public long BadRecords { get; internal init; }

    /// <summary>
    /// Connections closed after their handshake because the server's connection ended inside a record
    /// (<see cref="TlsClientRecordFailure.Truncated"/>). Not in <see cref="Failures"/>.
    /// </summary>
    public long TruncatedRecords { get; internal init; }

    /// <summary>Handshakes that failed for <paramref name="reason"/>.</summary>
    public long FailuresOf(TlsClientFailureReason reason) => _failures[(int)reason];

    /// <inheritdoc/>
    public override string ToString() =>
        $"handshakes {Handshakes} (resumed {Resumed}), failures {Failures} ({string.Join(", ", Enum.GetValues<TlsClientFailureReason>().Select(r => $"{r} {FailuresOf(r)}"))}), closed {Closed}, bad records {BadRecords}, truncated records {TruncatedRecords}, hops {HopsToWorker}";
}
